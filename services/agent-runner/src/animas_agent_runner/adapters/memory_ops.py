"""Memory changes and deliberate recall over the bus: publish and wait, request and reply."""

from __future__ import annotations

import asyncio
from collections import deque

import msgspec
import nats.errors
from nats.aio.client import Client
from nats.js import JetStreamContext

from animas_agent_runner.ports import OpOutcome
from animas_contracts import (
    ChannelPosted,
    MemoryOpApplied,
    MemoryOpRejected,
    MemoryOpRequested,
    SearchReply,
    SearchRequest,
    decode_event,
)
from animas_contracts.errors import ContractError
from animas_contracts.subjects import rpc_subject, stored_activity_filter
from animas_core.broker import EventSink
from animas_core.rpc_tracing import traced_request
from animas_core.streams import read_stored
from animas_core.waiter import EventWaiter


class BusMemoryOps:
    """Publishes ``memory.op.requested`` and waits for memory-writer's applied or rejected.

    The waiter is registered before the publish, so a fast answer is not missed. A redelivered
    cycle publishes the same derived id; JetStream drops it and memory-writer's answer does not
    come again, so a timeout here is "not confirmed yet", never "failed".
    """

    def __init__(self, publisher: EventSink, waiter: EventWaiter) -> None:
        self._publisher = publisher
        self._waiter = waiter

    async def apply(self, request: MemoryOpRequested, timeout_s: float) -> OpOutcome:
        future = self._waiter.expect(request.id)
        try:
            await self._publisher.publish(request)
            event = await asyncio.wait_for(future, timeout_s)
        except TimeoutError:
            return OpOutcome(applied=None)
        finally:
            self._waiter.forget(request.id)
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
        except (nats.errors.TimeoutError, nats.errors.NoRespondersError) as exc:
            return SearchReply(error=f"priming did not answer: {exc!r}")
        return msgspec.json.decode(msg.data, type=SearchReply)


class StreamChannels:
    """Reads channel posts from the activity stream.

    Posts are events of their posters, so a channel is a filter over every anima's
    ``channel.posted``; this scans them (fine for boards of thousands of posts; a projection with
    an index is the next step when boards grow past that).
    """

    def __init__(self, js: JetStreamContext) -> None:
        self._js = js

    async def recent(self, channel: str, limit: int) -> list[ChannelPosted]:
        kept: deque[ChannelPosted] = deque(maxlen=limit)
        async for msg in read_stored(self._js, stored_activity_filter(event_type="channel.posted")):
            try:
                event = decode_event(msg.data)
            except ContractError:
                continue
            if isinstance(event, ChannelPosted) and event.channel == channel:
                kept.append(event)
        return list(kept)
