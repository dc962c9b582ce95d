"""The consolidator on the bus: priming's search, memory operations and what the stream remembers.

Memory operations are published and their answers awaited like agent-runner's: the waiter is
registered before the publish; a request published again under its derived id (a rerun) is
dropped by JetStream and not answered again, so its answer is then read back from the stream,
as it is when the wait times out. Nothing found is "not confirmed yet": the run is retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator
from typing import cast

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import PubAck

from animas_consolidator.ports import OpOutcome
from animas_contracts import (
    ConsolidationPlanned,
    ContractError,
    Event,
    IdentityRevised,
    MemoryOpApplied,
    MemoryOpRejected,
    MemoryOpRequested,
    SearchReply,
    SearchRequest,
)
from animas_contracts.subjects import rpc_subject, stored_activity_filter
from animas_core.broker import EventSink
from animas_core.broker_errors import BROKER_UNREACHABLE
from animas_core.provenance import decode_delivered
from animas_core.rpc_tracing import traced_request
from animas_core.streams import read_stored
from animas_core.waiter import EventWaiter

_log = logging.getLogger(__name__)
ANSWER_TYPES = ("memory.op.applied", "memory.op.rejected")


class RpcKnowledgeSearch:
    """Knowledge files near a text, by priming's index."""

    def __init__(self, nc: Client, timeout_s: float = 10.0) -> None:
        self._nc = nc
        self._timeout_s = timeout_s

    async def knowledge_paths(self, anima: str, text: str, limit: int) -> list[str] | None:
        request = SearchRequest(query=text, scope="knowledge", limit=limit)
        try:
            subject = rpc_subject("priming", "search", anima)
            payload = msgspec.json.encode(request)
            msg = await traced_request(self._nc, subject, payload, timeout_s=self._timeout_s)
        except BROKER_UNREACHABLE as exc:
            _log.warning("priming's search did not answer: %r", exc, extra={"anima": anima})
            return None
        try:
            reply = msgspec.json.decode(msg.data, type=SearchReply)
        except msgspec.DecodeError as exc:
            _log.warning("priming's search answered garbage: %r", exc, extra={"anima": anima})
            return None
        if reply.error:
            _log.warning("priming's search failed: %s", reply.error, extra={"anima": anima})
            return None
        return list(dict.fromkeys(hit.path for hit in reply.hits))


async def _stored(js: JetStreamContext, subject: str, after_seq: int) -> AsyncGenerator[Event, None]:
    scan = read_stored(js, subject, start_seq=after_seq + 1)
    async with contextlib.aclosing(cast(AsyncGenerator[Msg, None], scan)) as messages:
        async for msg in messages:
            try:
                yield decode_delivered(msg.subject, msg.data)
            except ContractError:
                continue  # unreadable, or not what its subject says: not what is looked for


class StreamLedger:
    """Reads back a run's plan and memory-writer's answers from the ``ACTIVITY`` stream."""

    def __init__(self, js: JetStreamContext) -> None:
        self._js = js

    async def plan(self, anima: str, plan_id: str, after_seq: int) -> ConsolidationPlanned | None:
        subject = stored_activity_filter(anima=anima, event_type="consolidation.planned")
        async for event in _stored(self._js, subject, after_seq):
            if isinstance(event, ConsolidationPlanned) and event.id == plan_id:
                return event
        return None

    async def answer(
        self, request: MemoryOpRequested | IdentityRevised, after_seq: int
    ) -> MemoryOpApplied | MemoryOpRejected | None:
        for event_type in ANSWER_TYPES:
            subject = stored_activity_filter(anima=request.anima, event_type=event_type)
            async for event in _stored(self._js, subject, after_seq):
                if isinstance(event, MemoryOpApplied | MemoryOpRejected) and event.op_id == request.id:
                    return event
        return None


class BusMemoryOps:
    """Implements :class:`~animas_consolidator.ports.MemoryOps`."""

    def __init__(
        self, publisher: EventSink, waiter: EventWaiter, ledger: StreamLedger, timeout_s: float
    ) -> None:
        self._publisher = publisher
        self._waiter = waiter
        self._ledger = ledger
        self._timeout_s = timeout_s

    async def apply(self, request: MemoryOpRequested | IdentityRevised) -> OpOutcome:
        future = self._waiter.expect(request.id)
        try:
            ack = await self._publisher.publish(request)
            stored_at = ack.seq if isinstance(ack, PubAck) else None
            duplicate = bool(isinstance(ack, PubAck) and ack.duplicate)
            event: Event | None = None
            if stored_at is not None and duplicate:
                event = await self._ledger.answer(request, stored_at)
            if event is None:
                try:
                    event = await asyncio.wait_for(future, self._timeout_s)
                except TimeoutError:
                    event = await self._ledger.answer(request, stored_at) if stored_at is not None else None
        finally:
            self._waiter.forget(request.id)
        if isinstance(event, MemoryOpApplied):
            return OpOutcome(applied=True, first_time=not duplicate)
        if isinstance(event, MemoryOpRejected):
            return OpOutcome(applied=False, reason=event.reason, first_time=not duplicate)
        return OpOutcome(applied=None)
