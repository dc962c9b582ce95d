"""``anima replay cycle``: gather one cycle's events from the stream and hand them to the replayer.

The replay itself belongs to agent-runner (it owns the prompt builder and the execution modes);
this side only reads: it finds the cycle's ``cycle.started``, takes every event of the same
correlation, inlines the bodies kept in the object store, and pipes the lot as JSON lines into
``python -m animas_agent_runner.replay``, which needs no broker, no model and no anima files.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import msgspec
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError, ObjectNotFoundError

from animas_contracts import CycleStarted
from animas_contracts.subjects import BODIES_BUCKET
from animas_tools.events import read_activity

REPLAYER = "animas_agent_runner.replay"
_BODY_FIELDS = ("inputs", "prompt")


class CycleNotFound(Exception):
    """No ``cycle.started`` with that id is stored."""


async def cycle_events(js: JetStreamContext, cycle_id: str, anima: str = "*") -> list[bytes]:
    """The stored events of the cycle's correlation, oldest first, bodies inlined."""
    by_correlation: dict[str, list[bytes]] = {}
    correlation: str | None = None
    async for stored in read_activity(js, anima=anima):
        event = stored.event
        if event is None:
            continue
        by_correlation.setdefault(event.correlation_id, []).append(stored.raw)
        if isinstance(event, CycleStarted) and event.id == cycle_id:
            correlation = event.correlation_id
    if correlation is None:
        raise CycleNotFound(f"no cycle.started with id {cycle_id} is stored")
    return [await _inlined(js, raw) for raw in by_correlation[correlation]]


async def _inlined(js: JetStreamContext, raw: bytes) -> bytes:
    payload: dict[str, Any] = msgspec.json.decode(raw)
    if payload.get("type") != "cycle.started":
        return raw
    for field in _BODY_FIELDS:
        body = payload.get(field)
        if isinstance(body, dict) and body.get("stored") and body.get("inline") is None:
            body["inline"] = msgspec.json.decode(await stored_body(js, str(body["digest"])))
    return msgspec.json.encode(payload)


async def stored_body(js: JetStreamContext, digest: str) -> bytes:
    """A body kept in the object store by digest."""
    store = await js.object_store(BODIES_BUCKET)
    try:
        result = await store.get(digest.replace(":", "-"))
    except (ObjectNotFoundError, NotFoundError):
        raise CycleNotFound(f"the body {digest} is no longer in the object store") from None
    return bytes(result.data or b"")


def run_replayer(cycle_id: str, events: list[bytes]) -> subprocess.CompletedProcess[str]:
    """Run agent-runner's replayer on ``events``; its report is on stdout."""
    return subprocess.run(
        [sys.executable, "-m", REPLAYER, cycle_id],
        input=b"\n".join(events).decode(),
        capture_output=True,
        text=True,
        check=False,
    )
