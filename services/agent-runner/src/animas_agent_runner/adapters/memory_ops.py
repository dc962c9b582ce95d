"""Memory changes and deliberate recall over the bus: publish and wait, request and reply."""

from __future__ import annotations

import asyncio
import logging

import msgspec
from nats.aio.client import Client
from nats.js.api import PubAck

from animas_agent_runner.adapters.op_answers import StoredAnswers
from animas_agent_runner.ports import OpOutcome
from animas_contracts import (
    Event,
    MemoryOpApplied,
    MemoryOpRejected,
    MemoryOpRequested,
    SearchReply,
    SearchRequest,
)
from animas_contracts.subjects import rpc_subject
from animas_core.broker import EventSink
from animas_core.broker_errors import BROKER_UNREACHABLE
from animas_core.rpc_tracing import traced_request
from animas_core.waiter import EventWaiter

_log = logging.getLogger(__name__)


class BusMemoryOps:
    """Publishes ``memory.op.requested`` and waits for memory-writer's applied or rejected.

    The waiter is registered before the publish, so a fast answer is not missed. A request
    published again under its derived id (a retried call, a redelivered cycle) is dropped by
    JetStream, which acks it with the sequence of the first copy, and memory-writer does not
    answer it again: its answer is then looked up in the stream after that sequence, as it is
    when the wait times out (an answer that passed during a reconnect). Nothing found is "not
    confirmed yet", never "failed".
    """

    def __init__(
        self, publisher: EventSink, waiter: EventWaiter, stored: StoredAnswers | None = None
    ) -> None:
        self._publisher = publisher
        self._waiter = waiter
        self._stored = stored

    async def apply(self, request: MemoryOpRequested, timeout_s: float) -> OpOutcome:
        future = self._waiter.expect(request.id)
        try:
            ack = await self._publisher.publish(request)
            stored_at = ack.seq if isinstance(ack, PubAck) else None
            event: Event | None = None
            if stored_at is not None and ack.duplicate:
                event = await self._look_up(request, stored_at)
            if event is None:
                try:
                    event = await asyncio.wait_for(future, timeout_s)
                except TimeoutError:
                    event = await self._look_up(request, stored_at)
        finally:
            self._waiter.forget(request.id)
        if isinstance(event, MemoryOpApplied):
            return OpOutcome(applied=True, paths=tuple(event.paths))
        if isinstance(event, MemoryOpRejected):
            return OpOutcome(applied=False, reason=event.reason)
        return OpOutcome(applied=None)

    async def _look_up(self, request: MemoryOpRequested, stored_at: int | None) -> Event | None:
        if self._stored is None or stored_at is None:
            return None
        try:
            return await self._stored.answer(request, stored_at)
        except Exception as exc:
            # The stream may be out of reach too; "not confirmed" makes the caller try again.
            _log.warning("could not look up memory-writer's answer: %r", exc, extra={"op_id": request.id})
            return None


class RpcMemorySearch:
    """The search_memory tool's way to priming (``rpc.priming.search.<anima>``)."""

    def __init__(self, nc: Client, timeout_s: float = 10.0) -> None:
        self._nc = nc
        self._timeout_s = timeout_s

    async def search(self, anima: str, request: SearchRequest) -> SearchReply:
        try:
            msg = await traced_request(
                self._nc,
                rpc_subject("priming", "search", anima),
                msgspec.json.encode(request),
                timeout_s=self._timeout_s,
            )
        except BROKER_UNREACHABLE as exc:
            return SearchReply(error=f"priming did not answer: {exc!r}")
        return msgspec.json.decode(msg.data, type=SearchReply)
