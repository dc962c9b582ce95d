"""memory-writer's answers read back from the activity stream, for a request whose answer was missed.

A memory operation published again under its derived id (a retried tool call, a redelivered
cycle) is dropped by JetStream, so memory-writer never answers it a second time; the answer it
gave the first copy is in the stream, stored after the request.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator
from typing import Protocol, cast

from nats.aio.msg import Msg
from nats.js import JetStreamContext

from animas_contracts import ContractError, MemoryOpApplied, MemoryOpRejected, MemoryOpRequested
from animas_contracts.subjects import stored_activity_filter
from animas_core.provenance import decode_delivered
from animas_core.streams import read_stored

ANSWER_TYPES = ("memory.op.applied", "memory.op.rejected")


class StoredAnswers(Protocol):
    """memory-writer's answer to an operation as the activity stream holds it."""

    async def answer(
        self, request: MemoryOpRequested, after_seq: int
    ) -> MemoryOpApplied | MemoryOpRejected | None:
        """The answer stored after stream sequence ``after_seq`` (where the request is), or None."""
        ...


class StreamAnswers:
    """Implements :class:`StoredAnswers` over the ``ACTIVITY`` stream.

    Only the anima's own answers stored after the request are read (a handful), matched by the
    ``op_id`` they carry.
    """

    def __init__(self, js: JetStreamContext) -> None:
        self._js = js

    async def answer(
        self, request: MemoryOpRequested, after_seq: int
    ) -> MemoryOpApplied | MemoryOpRejected | None:
        for event_type in ANSWER_TYPES:
            subject = stored_activity_filter(anima=request.anima, event_type=event_type)
            scan = read_stored(self._js, subject, start_seq=after_seq + 1)
            async with contextlib.aclosing(cast(AsyncGenerator[Msg, None], scan)) as messages:
                async for msg in messages:
                    try:
                        event = decode_delivered(msg.subject, msg.data)
                    except ContractError:
                        continue  # unreadable, or not what its subject says: not the answer
                    if isinstance(event, MemoryOpApplied | MemoryOpRejected) and event.op_id == request.id:
                        return event
        return None
