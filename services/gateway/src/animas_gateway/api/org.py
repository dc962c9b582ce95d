"""``GET /api/org``: the org chart with each anima's live state.

Who exists, their roles, supervisors, models and whether they are enabled come from
memory-writer (``rpc.memory.animas``, their status.json); the state from each anima's latest
state-changing event (:func:`animas_gateway.api.activity_reads.last_state`: a few last-by-subject
direct gets per anima, never a scan of the stream). A disabled anima is ``disabled`` whatever
its events say; an anima with no such event yet is ``idle``.
"""

from __future__ import annotations

import asyncio

import msgspec
from nats.js import JetStreamContext
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from animas_contracts import AnimaSummary
from animas_gateway.api.activity import AnimaState
from animas_gateway.api.activity_reads import last_state
from animas_gateway.directory import AnimaDirectory, DirectoryUnavailable
from animas_gateway.operations import Operation
from animas_gateway.problems import Problem


class OrgAnima(msgspec.Struct, frozen=True, kw_only=True):
    """One anima on the chart."""

    name: str
    role: str | None
    supervisor: str | None
    enabled: bool
    state: AnimaState
    state_since: str | None
    """When the event that set the state was emitted; null when none is stored."""
    model: str | None


class OrgChart(msgspec.Struct, frozen=True, kw_only=True):
    """Every anima on the chart, by name."""

    animas: list[OrgAnima]


async def chart_entry(js: JetStreamContext, anima: AnimaSummary) -> OrgAnima:
    """One anima's entry: its settings, and the state its latest events left it in."""
    state, since = await last_state(js, anima.name)
    if not anima.enabled:
        state = "disabled"
    supervisor, model = anima.status.get("supervisor"), anima.status.get("model")
    return OrgAnima(
        name=anima.name,
        role=anima.role,
        supervisor=str(supervisor) if supervisor else None,
        enabled=anima.enabled,
        state=state or "idle",
        state_since=since,
        model=str(model) if model else None,
    )


def operations(js: JetStreamContext, directory: AnimaDirectory) -> list[Operation]:
    """The org chart route."""

    async def org(_: Request) -> Response:
        try:
            animas = await directory.animas()
        except DirectoryUnavailable as exc:
            raise Problem(503, str(exc)) from None
        entries = await asyncio.gather(
            *(chart_entry(js, a) for a in sorted(animas.values(), key=lambda a: a.name))
        )
        return JSONResponse(msgspec.to_builtins(OrgChart(animas=list(entries))))

    return [
        Operation(
            "GET",
            "/api/org",
            org,
            "The org chart: every anima with its role, supervisor, model and live state",
            "activity",
            "admin",
            response=OrgChart,
            errors=(503,),
        )
    ]
