"""memory-writer's answers read back from the activity stream, for a request whose answer was missed.

A memory operation published again under its derived id (a retried tool call, a redelivered
cycle) is dropped by JetStream, so memory-writer never answers it a second time; the answer it
gave the first copy is in the stream, stored after the request.
"""

from __future__ import annotations

from typing import Protocol

from nats.js import JetStreamContext

from animas_agent_runner.adapters.awaited import answer_stored_after
from animas_contracts import MemoryOpApplied, MemoryOpRejected, MemoryOpRequested

ANSWER_TYPES = ("memory.op.applied", "memory.op.rejected")


class StoredAnswers(Protocol):
    """memory-writer's answer to an operation as the activity stream holds it."""

    async def answer(
        self, request: MemoryOpRequested, after_seq: int
    ) -> MemoryOpApplied | MemoryOpRejected | None:
        """The answer stored after stream sequence ``after_seq`` (where the request is), or None."""
        ...


class StreamAnswers:
    """Implements :class:`StoredAnswers` over the ``ACTIVITY`` stream, matched by ``op_id``."""

    def __init__(self, js: JetStreamContext) -> None:
        self._js = js

    async def answer(
        self, request: MemoryOpRequested, after_seq: int
    ) -> MemoryOpApplied | MemoryOpRejected | None:
        event = await answer_stored_after(
            self._js,
            request.anima,
            ANSWER_TYPES,
            after_seq,
            lambda e: isinstance(e, MemoryOpApplied | MemoryOpRejected) and e.op_id == request.id,
        )
        return event if isinstance(event, MemoryOpApplied | MemoryOpRejected) else None
