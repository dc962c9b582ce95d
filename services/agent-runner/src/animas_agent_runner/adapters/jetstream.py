"""JetStream adapters: the body object store, the reply ledger and the delta journal."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator
from datetime import datetime
from typing import cast

import msgspec
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from animas_agent_runner.ports import JournalAttempt
from animas_contracts import (
    ContractError,
    DeltaKind,
    HeartbeatFinished,
    MessageReceived,
    ModelDelta,
)
from animas_contracts.subjects import (
    DELTAS_STREAM,
    HEADER_MSG_ID,
    delta_subject,
    stored_activity_filter,
)
from animas_core.provenance import decode_delivered
from animas_core.streams import event_stored_after, read_stored


class StreamReplyLedger:
    """Looks in the activity stream for a reply, scanning only one anima's replies after a point.

    Used only on redelivery: it makes "answered once" hold however long after JetStream's
    duplicate window the redelivery comes.
    """

    def __init__(self, js: JetStreamContext) -> None:
        self._js = js

    async def reply_exists(self, anima: str, reply_id: str, after_seq: int) -> bool:
        return await event_stored_after(
            self._js, anima=anima, event_type="response.sent", event_id=reply_id, after_seq=after_seq
        )


class StreamJournal:
    """Reads a cycle's delta events back from the ``DELTAS`` stream (the write-ahead journal)."""

    def __init__(self, js: JetStreamContext) -> None:
        self._js = js

    async def attempts(self, anima: str, cycle_id: str, since: datetime) -> list[JournalAttempt]:
        pieces: dict[int, list[ModelDelta]] = {}
        scan = read_stored(self._js, delta_subject(anima), stream=DELTAS_STREAM, start_time=since)
        async with contextlib.aclosing(cast(AsyncGenerator[Msg, None], scan)) as messages:
            async for msg in messages:
                try:
                    delta = msgspec.json.decode(msg.data, type=ModelDelta)
                except msgspec.DecodeError:
                    continue  # not a delta of this shape: nothing of this cycle
                if delta.cycle_id == cycle_id:
                    pieces.setdefault(delta.attempt, []).append(delta)
        return [_attempt(n, sorted(deltas, key=lambda d: d.seq)) for n, deltas in sorted(pieces.items())]


def _attempt(number: int, deltas: list[ModelDelta]) -> JournalAttempt:
    # A redelivered publish can store a piece twice past the duplicate window: one per seq.
    unique = list({d.seq: d for d in deltas}.values())
    return JournalAttempt(
        attempt=number,
        text="".join(d.text for d in unique if d.kind is DeltaKind.TEXT),
        tools_started=tuple(d.text for d in unique if d.kind is DeltaKind.TOOL_START),
        finished=any(d.kind is DeltaKind.DONE for d in unique),
    )


class StreamActivity:
    """Reads one anima's stored events of one type back from the activity stream, from a time on."""

    def __init__(self, js: JetStreamContext) -> None:
        self._js = js

    async def message(self, anima: str, message_id: str, since: datetime) -> MessageReceived | None:
        subject = stored_activity_filter(anima=anima, event_type="message.received")
        scan = read_stored(self._js, subject, start_time=since)
        async with contextlib.aclosing(cast(AsyncGenerator[Msg, None], scan)) as messages:
            async for msg in messages:
                if (msg.headers or {}).get(HEADER_MSG_ID) != message_id:
                    continue
                event = decode_delivered(msg.subject, msg.data)
                return event if isinstance(event, MessageReceived) else None
        return None

    async def heartbeats(self, anima: str, since: datetime) -> list[HeartbeatFinished]:
        subject = stored_activity_filter(anima=anima, event_type="heartbeat.finished")
        found: list[HeartbeatFinished] = []
        scan = read_stored(self._js, subject, start_time=since)
        async with contextlib.aclosing(cast(AsyncGenerator[Msg, None], scan)) as messages:
            async for msg in messages:
                try:
                    event = decode_delivered(msg.subject, msg.data)
                except ContractError:
                    continue
                if isinstance(event, HeartbeatFinished):
                    found.append(event)
        return found
