"""One cycle's events, and its offline replay: ``GET /api/cycles/{id}``, ``POST /api/cycles/{id}/replay``.

The gateway finds the cycle's ``cycle.started`` (a scan of ``cycle.started`` events only, one
anima's when ``?anima=`` is given), reads its correlation's events from the trigger up to the
cycle's ``cycle.finished`` (:func:`animas_gateway.api.activity_reads.cycle_items`), and for a
replay hands them to agent-runner on ``rpc.agent.replay``, which re-runs the cycle against its
recordings (as ``anima replay cycle`` does) and answers how the replay compares.

A recipe too large to travel inline is kept in the ``BODIES`` object store: agent-runner reads it
back there (direct gets on the store's stream); the gateway never reads the object store.
"""

from __future__ import annotations

from typing import Any

import msgspec
from nats.aio.client import Client
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from animas_contracts.names import InvalidAnimaName, validate_anima_name
from animas_contracts.operations import ReplayReply, ReplayRequest
from animas_contracts.subjects import RPC_AGENT_REPLAY
from animas_core.broker_errors import BROKER_UNREACHABLE
from animas_core.rpc_tracing import traced_request
from animas_gateway.api.activity import EventItem, public
from animas_gateway.api.activity_reads import cycle_items, find_cycle_start
from animas_gateway.operations import Operation, Param
from animas_gateway.problems import Problem

REPLAY_TIMEOUT_S = 60.0
REPLAYED_TYPES = frozenset({"cycle.started", "llm.called", "tool.used", "response.sent"})
"""What the replayer reads; the rest of the cycle's events stay here (the request stays small)."""


class CycleView(msgspec.Struct, frozen=True, kw_only=True):
    """One cycle: how it started and every event of it, oldest first."""

    cycle_id: str
    anima: str
    correlation_id: str | None
    trigger: str | None
    """message, heartbeat or cron."""
    events: list[EventItem]


class _Cycle(msgspec.Struct, frozen=True):
    started: dict[str, Any]
    items: list[dict[str, Any]]


def operations(nc: Client, *, replay_timeout_s: float = REPLAY_TIMEOUT_S) -> list[Operation]:
    """The cycle routes."""
    js = nc.jetstream()

    async def load(request: Request) -> _Cycle:
        cycle_id = request.path_params["cycle_id"]
        anima = request.query_params.get("anima") or None
        if anima is not None:
            try:
                validate_anima_name(anima)
            except InvalidAnimaName as exc:
                raise Problem(422, f"anima: {exc}") from None
        started = await find_cycle_start(js, cycle_id, anima)
        if started is None:
            raise Problem(404, f"no cycle.started with id {cycle_id} is stored")
        return _Cycle(started, await cycle_items(js, started))

    async def show(request: Request) -> Response:
        cycle = await load(request)
        event = cycle.started["event"]
        return JSONResponse(
            {
                "cycle_id": cycle.started["id"],
                "anima": cycle.started["anima"],
                "correlation_id": cycle.started["correlation_id"],
                "trigger": event.get("trigger"),
                "events": [public(i) for i in cycle.items],
            }
        )

    async def replay(request: Request) -> Response:
        cycle = await load(request)
        events = [i["event"] for i in cycle.items if i["type"] in REPLAYED_TYPES]
        payload = msgspec.json.encode(ReplayRequest(cycle_id=cycle.started["id"], events=events))
        if len(payload) > nc.max_payload:
            raise Problem(
                413, f"the cycle's recordings ({len(payload)} bytes) exceed the broker's message limit"
            )
        try:
            msg = await traced_request(nc, RPC_AGENT_REPLAY, payload, timeout_s=replay_timeout_s)
        except BROKER_UNREACHABLE as exc:
            raise Problem(503, f"agent-runner did not answer the replay: {exc!r}") from None
        reply = msgspec.json.decode(msg.data, type=ReplayReply)
        if not reply.ok:
            raise Problem(422, f"the cycle cannot be replayed: {reply.error}")
        return JSONResponse(msgspec.to_builtins(reply))

    anima_param = Param("anima", "query", "The cycle's anima, when known: only its events are searched.")
    cycle_param = Param("cycle_id", "path", "The cycle: the id of its cycle.started event.")
    return [
        Operation(
            "GET",
            "/api/cycles/{cycle_id}",
            show,
            "One cycle: its trigger and every event of its correlation up to its cycle.finished",
            "activity",
            "admin",
            response=CycleView,
            params=(cycle_param, anima_param),
            errors=(404, 422),
        ),
        Operation(
            "POST",
            "/api/cycles/{cycle_id}/replay",
            replay,
            "Replay a recorded cycle offline (no model is called) and compare it with the recording",
            "activity",
            "admin",
            response=ReplayReply,
            params=(cycle_param, anima_param),
            errors=(404, 413, 422, 503),
        ),
    ]
