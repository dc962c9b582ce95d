"""``anima replay cycle`` and ``range``: gather recorded cycles from the stream for the replayer.

The replay itself belongs to agent-runner (it owns the prompt builder and the execution modes);
this side only reads: it finds the cycle's ``cycle.started``, takes every event of the same
correlation, inlines the bodies kept in the object store, and pipes the lot as JSON lines into
``python -m animas_agent_runner.replay``, which needs no broker, no model and no anima files.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta
from typing import Any

import msgspec
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError, ObjectNotFoundError

from animas_contracts import CycleStarted, LlmCalled, ResponseSent, ToolUsed
from animas_contracts.subjects import BODIES_BUCKET
from animas_tools.events import read_activity

REPLAYER = "animas_agent_runner.replay"
CLOCK_MARGIN = timedelta(minutes=5)
"""How far a producer's clock may be behind the stream's, for reading a time range."""
BATCH_REPLAYER = "animas_agent_runner.replay_command"


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
    return [await inline_bodies(js, raw) for raw in by_correlation[correlation]]


async def range_events(
    js: JetStreamContext, since: datetime, until: datetime | None, anima: str = "*"
) -> list[bytes]:
    """The records of every cycle that started in [since, until], oldest first, bodies inlined.

    A cycle's records are what the replayer reads: its ``cycle.started``, its model and tool
    calls, and the reply to its trigger. Other cycles of the same conversation stay out.
    """
    cycles: set[str] = set()
    triggers: set[str] = set()
    kept: list[bytes] = []
    # ACTIVITY is kept for good: start near ``since`` rather than at sequence 1. An event's ts is
    # its producer's clock, so the read starts a margin earlier than the range.
    async for stored in read_activity(js, anima=anima, stored_since=since - CLOCK_MARGIN):
        event = stored.event
        if isinstance(event, CycleStarted):
            if event.ts < since or (until is not None and event.ts > until):
                continue
            cycles.add(event.id)
            triggers.add(event.trigger_event_id)
        elif isinstance(event, LlmCalled | ToolUsed):
            if event.cycle_id not in cycles:
                continue
        elif not (isinstance(event, ResponseSent) and event.in_reply_to in triggers):
            continue
        kept.append(await inline_bodies(js, stored.raw))
    return kept


async def inline_bodies(js: JetStreamContext, raw: bytes) -> bytes:
    """``raw`` with every body kept in the object store put back inline (prompts, requests, responses)."""
    payload: dict[str, Any] = msgspec.json.decode(raw)
    changed = False
    for body in payload.values():
        if isinstance(body, dict) and body.get("stored") and body.get("inline") is None and "digest" in body:
            body["inline"] = msgspec.json.decode(await stored_body(js, str(body["digest"])))
            changed = True
    return msgspec.json.encode(payload) if changed else raw


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


def run_batch(args: list[str], events: list[bytes]) -> subprocess.CompletedProcess[str]:
    """Run the replayer's ``range`` or ``fork`` (``args``) on ``events``; its report is on stdout."""
    return subprocess.run(
        [sys.executable, "-m", BATCH_REPLAYER, *args],
        input=b"\n".join(events).decode(),
        capture_output=True,
        text=True,
        check=False,
    )
