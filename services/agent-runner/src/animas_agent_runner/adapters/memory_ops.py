"""Memory changes and deliberate recall over the bus: publish and wait, request and reply."""

from __future__ import annotations

import logging

import msgspec
from nats.aio.client import Client

from animas_agent_runner.adapters.awaited import publish_and_await
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

    See :func:`animas_agent_runner.adapters.awaited.publish_and_await`: an answer missed (a
    request dropped as a duplicate, a wait that timed out) is read from the stream. Nothing found
    is "not confirmed yet", never "failed".
    """

    def __init__(
        self, publisher: EventSink, waiter: EventWaiter, stored: StoredAnswers | None = None
    ) -> None:
        self._publisher = publisher
        self._waiter = waiter
        self._stored = stored

    async def apply(self, request: MemoryOpRequested, timeout_s: float) -> OpOutcome:
        stored = self._stored

        async def look_up(after_seq: int) -> Event | None:
            return await stored.answer(request, after_seq) if stored is not None else None

        event = await publish_and_await(self._publisher, self._waiter, request, timeout_s, look_up)
        if isinstance(event, MemoryOpApplied):
            return OpOutcome(applied=True, paths=tuple(event.paths))
        if isinstance(event, MemoryOpRejected):
            return OpOutcome(applied=False, reason=event.reason)
        return OpOutcome(applied=None)


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
