"""Pulling a durable's messages in batches, for handlers that do one job for many events.

A batch is what the consumer has ready (up to a size), taken at once: nothing waits for a batch
to fill, so an event that arrives alone is handled as soon as it arrives. The batch handler runs
once for the whole batch and every message is acknowledged after it returned. If it raises, each
message is handled alone under the error policy (redelivery with backoff, then the dead letter),
so one bad event costs its batch a second pass but is never lost and never sinks the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Sequence

import nats.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig
from nats.js.errors import NotFoundError

from animas_core.policy import DeadLetterSink, Delivery, RetryPolicy, in_progress_acks, run_under_policy

_log = logging.getLogger(__name__)

IDLE_WAIT_S = 5.0
"""How long one pull lingers on the server for the next message when there is none."""
READY_WAIT_S = 0.05
"""How long the second fetch of a batch waits: it only collects what is already there."""

Fetch = Callable[[int, float], Awaitable[Sequence[Delivery]]]
"""Up to ``n`` messages, waiting at most the timeout for them; empty when none came."""
BatchWork = Callable[[Sequence[Delivery]], Awaitable[None]]
OneWork = Callable[[Delivery], Awaitable[None]]


async def next_batch(fetch: Fetch, batch_size: int, idle_wait_s: float = IDLE_WAIT_S) -> list[Delivery]:
    """The next message (waiting up to ``idle_wait_s``) and whatever else is ready behind it."""
    first = list(await fetch(1, idle_wait_s))
    if not first or batch_size <= 1:
        return first
    # A lingering fetch of many returns only when it has them all or times out; asking for one
    # first and then for what is ready keeps a lone event from waiting for company.
    return first + list(await fetch(batch_size - 1, READY_WAIT_S))


@dataclasses.dataclass(frozen=True)
class Settle:
    """Runs a batch's work and settles its messages (see the module's docstring)."""

    batch_work: BatchWork
    one_work: OneWork
    service: str
    sink: DeadLetterSink
    retry: RetryPolicy
    keepalive_s: float
    """Interval of in-progress acks while the batch works (a batch may outlive ``ack_wait``)."""

    async def __call__(self, deliveries: Sequence[Delivery]) -> None:
        try:
            async with contextlib.AsyncExitStack() as beats:
                for delivery in deliveries:
                    await beats.enter_async_context(in_progress_acks(delivery, self.keepalive_s))
                await self.batch_work(deliveries)
        except Exception as exc:
            _log.warning(
                "batch failed; handling its messages one by one",
                extra={"size": len(deliveries), "error": repr(exc)},
            )
            for delivery in deliveries:
                await run_under_policy(
                    delivery, self._alone(delivery), service=self.service, sink=self.sink, retry=self.retry
                )
            return
        for delivery in deliveries:
            await delivery.ack()

    def _alone(self, delivery: Delivery) -> Callable[[bytes], Awaitable[None]]:
        async def work(_: bytes) -> None:
            await self.one_work(delivery)

        return work


class BatchPuller:
    """One durable pull consumer, created when missing, fetched from in batches."""

    def __init__(
        self,
        js: JetStreamContext,
        config: ConsumerConfig,
        *,
        stream: str,
        inbox: bytes,
        wrap: Callable[[Msg], Delivery],
    ) -> None:
        self._js = js
        self._config = config
        self._stream = stream
        self._inbox = inbox
        """The service's own inbox prefix (``...``.): the only one its broker user may receive on."""
        self._wrap = wrap

    async def run(self, batch_size: int, settle: Callable[[Sequence[Delivery]], Awaitable[None]]) -> None:
        """Settle batch after batch, for the life of the service."""
        durable = self._config.durable_name or ""
        try:
            await self._js.consumer_info(self._stream, durable)
        except NotFoundError:
            await self._js.add_consumer(self._stream, self._config)
        sub = await self._js.pull_subscribe_bind(durable, self._stream, inbox_prefix=self._inbox)

        async def fetch(count: int, timeout_s: float) -> list[Delivery]:
            try:
                return [self._wrap(m) for m in await sub.fetch(count, timeout=timeout_s)]
            except TimeoutError:
                return []

        try:
            while True:
                try:
                    deliveries = await next_batch(fetch, batch_size)
                except nats.errors.Error as exc:  # reconnecting: what was not acked comes back
                    _log.warning("batch pull failed: %r", exc, extra={"durable": durable})
                    await asyncio.sleep(1.0)
                    continue
                if deliveries:
                    await settle(deliveries)
        finally:
            # Stopped: a subscription left behind would hold the connection's drain for its timeout.
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
