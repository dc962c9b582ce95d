"""Boards over the bus: reads of memory-writer's projection, and membership changes it decides.

A change (``board.created`` / ``joined`` / ``left``) is published and memory-writer answers it
like a memory change (``memory.op.applied`` / ``rejected`` under the change's id). When that
answer is missed (a change published again under its derived id is dropped by JetStream and not
answered twice; a wait that timed out), the projection itself says whether the change holds.
"""

from __future__ import annotations

import asyncio
import contextlib

from nats.js.api import PubAck

from animas_agent_runner.ports import BoardChange, OpOutcome
from animas_contracts import (
    BoardCreated,
    BoardJoined,
    BoardReply,
    BoardRequest,
    Event,
    MemoryOpApplied,
    MemoryOpRejected,
)
from animas_core.broker import EventSink
from animas_core.memory_client import MemoryClient
from animas_core.waiter import EventWaiter


class BusBoards:
    """Implements :class:`animas_agent_runner.ports.ChannelReader` over ``rpc.memory.board``."""

    def __init__(self, memory: MemoryClient, publisher: EventSink, waiter: EventWaiter) -> None:
        self._memory = memory
        self._publisher = publisher
        self._waiter = waiter

    async def board(self, request: BoardRequest) -> BoardReply:
        return await self._memory.board(request)

    async def change(self, event: BoardChange, timeout_s: float) -> OpOutcome:
        future = self._waiter.expect(event.id)
        answer: Event | None = None
        try:
            ack = await self._publisher.publish(event)
            if not (isinstance(ack, PubAck) and ack.duplicate):
                with contextlib.suppress(TimeoutError):
                    answer = await asyncio.wait_for(future, timeout_s)
        finally:
            self._waiter.forget(event.id)
        if isinstance(answer, MemoryOpApplied):
            return OpOutcome(applied=True)
        if isinstance(answer, MemoryOpRejected):
            return OpOutcome(applied=False, reason=answer.reason)
        return OpOutcome(applied=True) if await self._holds(event) else OpOutcome(applied=None)

    async def _holds(self, event: BoardChange) -> bool:
        """Whether the projection shows the change (the answer to it was missed)."""
        reply = await self.board(BoardRequest(board=event.board, limit=0))
        match event:
            case BoardCreated():
                return reply.exists and reply.owner == event.anima
            case BoardJoined():
                return reply.exists and event.anima in reply.members
        return reply.exists and event.anima not in reply.members
