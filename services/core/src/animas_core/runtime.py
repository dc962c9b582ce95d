"""The runtime every service process shares: connect, provision, consume under the policy, report health."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import json
import logging
import os
import signal
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import msgspec
from faststream import AckPolicy
from faststream.nats import JStream, NatsBroker, NatsMessage, PullSub
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy as NatsAckPolicy
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import TracerProvider

from animas_contracts import DeadLetter, derive_id
from animas_contracts.subjects import (
    DEADLETTER_STREAM,
    HEADER_MSG_ID,
    SERVICES_BUCKET,
    deadletter_subject,
    inbox_prefix,
)
from animas_core.batch_pull import BatchPuller, BatchWork, OneWork, Settle
from animas_core.broker import EventPublisher, make_broker
from animas_core.config import CachedConfig
from animas_core.config_store import ConfigFeed
from animas_core.faults import FaultPoints
from animas_core.metrics import Metrics
from animas_core.policy import Delivery, RetryPolicy, in_progress_acks, run_under_policy
from animas_core.probe import ProbeFile
from animas_core.settings import NatsSettings, ServiceSettings
from animas_core.streams import require_provisioned

_log = logging.getLogger(__name__)

Work = Callable[[bytes, "JsDelivery"], Awaitable[None]]


class JsDelivery:
    """A delivered JetStream message, as the error policy sees it."""

    def __init__(self, msg: Msg) -> None:
        self._msg = msg
        self._meta = msg.metadata

    @property
    def data(self) -> bytes:
        return self._msg.data

    @property
    def subject(self) -> str:
        return self._msg.subject

    @property
    def headers(self) -> dict[str, str]:
        return dict(self._msg.headers or {})

    @property
    def deliveries(self) -> int:
        return self._meta.num_delivered or 1

    @property
    def stream(self) -> str | None:
        return self._meta.stream

    @property
    def stream_seq(self) -> int | None:
        return self._meta.sequence.stream if self._meta.sequence else None

    async def ack(self) -> None:
        await self._msg.ack()

    async def nak(self, delay_s: float) -> None:
        await self._msg.nak(delay=delay_s)

    async def term(self) -> None:
        await self._msg.term()

    async def in_progress(self) -> None:
        await self._msg.in_progress()


class JsDeadLetterSink:
    """Stores dead letters on ``deadletter.<service>``, once per original message, and counts them."""

    def __init__(self, broker: NatsBroker, service: str, metrics: Metrics, durable: str) -> None:
        self._broker = broker
        self._service = service
        self._metrics = metrics
        self._durable = durable

    async def send(self, letter: DeadLetter) -> None:
        origin = f"{letter.stream}:{letter.stream_seq}" if letter.stream_seq else letter.subject
        await self._broker.publish(
            msgspec.json.encode(letter),
            deadletter_subject(self._service),
            headers={HEADER_MSG_ID: derive_id(origin, "deadletter", self._service)},
            stream=DEADLETTER_STREAM,
            timeout=5.0,
        )
        self._metrics.dead_lettered(self._durable)


@dataclasses.dataclass(frozen=True)
class ConsumerSpec:
    """A durable pull consumer a service runs."""

    durable: str
    filter_subject: str
    stream: str
    long_running: bool = False
    """Send in-progress acks while the handler works (an LLM cycle may outlive ``ack_wait``)."""
    max_ack_pending: int = 1
    """1 keeps strict order even across redeliveries; raise it where order does not matter."""
    more_subjects: tuple[str, ...] = ()
    """Further subjects the same consumer takes, in one order with ``filter_subject``'s."""


class ServiceRuntime:
    """One service process: its broker, publisher, consumers and health reports."""

    def __init__(
        self,
        service: str,
        settings: ServiceSettings,
        nats: NatsSettings,
        *,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        self.service = service
        self.settings = settings
        self.tracer_provider = tracer_provider
        """The service's own provider (None: the global one), for spans made outside FastStream."""
        self.broker = make_broker(nats, service, tracer_provider=tracer_provider)
        self.publisher = EventPublisher(self.broker)
        self.metrics = Metrics(meter_provider)
        """Where the service records its metrics (animas_core.instruments lists them)."""
        self.faults = FaultPoints(settings.faults)
        self.retry = RetryPolicy(settings.max_deliveries, settings.retry_backoff_s)
        self.instance = settings.instance_id or f"{socket.gethostname()}-{os.getpid()}"
        self.config_feed = ConfigFeed()
        self.config = CachedConfig(settings.config_path, self.config_feed)
        """The operator's config: the CONFIG bucket's latest revision (followed from :meth:`connect`),
        with this process's secrets from its own config file; that file alone while the bucket is empty."""
        self._health_now = asyncio.Event()
        self._probe = ProbeFile(settings.probe_file) if settings.probe_file else None
        """The file the Kubernetes exec probes read: the health loop's rounds, NATS's answers."""
        self.partitions = 0
        self._consumers: list[ConsumerSpec] = []
        self._provisioned: list[ConsumerSpec] = []
        self._batched: list[tuple[ConsumerSpec, BatchWork, OneWork, int]] = []
        self._health_task: asyncio.Task[None] | None = None
        self._background: list[asyncio.Task[None]] = []
        self._on_shutdown: list[Callable[[], Awaitable[None]]] = []
        self._started_at = time.time()
        self.extra_health: dict[str, Any] = {}
        """Service-specific facts added to the health record (the gateway's URL)."""

    @property
    def js(self) -> JetStreamContext:
        """The JetStream context of the connection (after :meth:`connect`)."""
        return self.broker.connection.jetstream()

    async def connect(self) -> None:
        """Connect and check that the operator has provisioned the streams and buckets.

        A service's NATS user may not create or change streams; a missing one is a
        :class:`~animas_core.streams.NotProvisionedError` that says who provisions it.
        """
        await self.broker.connect()
        self.partitions = await require_provisioned(self.js)
        await self.config_feed.start(self.broker.connection)
        # A new revision is reported at once: `anima config set` waits for every instance to hold it.
        self.config_feed.on_change(lambda _: self._health_now.set())

    def _consumer_config(self, spec: ConsumerSpec) -> ConsumerConfig:
        subjects = [spec.filter_subject, *spec.more_subjects]
        return ConsumerConfig(
            # The name as well: nats-py then creates it on $JS.API.CONSUMER.CREATE.<stream>.<name>,
            # the subject the broker grants a service for its own durables only.
            name=spec.durable,
            durable_name=spec.durable,
            filter_subject=None if spec.more_subjects else spec.filter_subject,
            filter_subjects=subjects if spec.more_subjects else None,
            ack_policy=NatsAckPolicy.EXPLICIT,
            ack_wait=self.settings.ack_wait_s,
            max_deliver=-1,  # the policy decides when to give up, so it can dead-letter first
            max_ack_pending=spec.max_ack_pending,
            deliver_policy=DeliverPolicy.ALL,
        )

    async def provision(self, spec: ConsumerSpec) -> None:
        """Create a durable consumer without consuming from it.

        For a service whose handler has not been built yet: events accumulate for it, nothing
        acknowledges them as if they had been handled.
        """
        try:
            await self.js.consumer_info(spec.stream, spec.durable)
        except NotFoundError:
            await self.js.add_consumer(spec.stream, self._consumer_config(spec))
        self._provisioned.append(spec)

    def consume(self, spec: ConsumerSpec, work: Work) -> None:
        """Run ``work`` for every message of a durable pull consumer, under the error policy."""
        config = self._consumer_config(spec)
        subscriber = self.broker.subscriber(
            spec.filter_subject,
            stream=JStream(spec.stream, declare=False),
            durable=spec.durable,
            config=config,
            pull_sub=PullSub(batch_size=1, timeout=1.0),
            ack_policy=AckPolicy.MANUAL,
            # FastStream's subscriber has its own inbox prefix (not the broker's); fetched messages
            # come to this inbox, which must be one the service's user may subscribe to.
            inbox_prefix=f"{inbox_prefix(self.service)}.".encode(),
        )
        keepalive_s = max(self.settings.ack_wait_s / 3, 0.5)
        sink = JsDeadLetterSink(self.broker, self.service, self.metrics, spec.durable)

        async def handler(message: NatsMessage) -> None:
            delivery = JsDelivery(message.raw_message)
            if delivery.deliveries > 1:
                self.metrics.redelivered(spec.durable)

            async def run(data: bytes) -> None:
                if spec.long_running:
                    async with in_progress_acks(delivery, keepalive_s):
                        await work(data, delivery)
                else:
                    await work(data, delivery)

            await run_under_policy(delivery, run, service=self.service, sink=sink, retry=self.retry)

        subscriber(handler)
        self._consumers.append(spec)

    def consume_batches(self, spec: ConsumerSpec, batch: BatchWork, one: OneWork, *, batch_size: int) -> None:
        """Like :meth:`consume`, but ``batch`` takes every ready message at once (up to ``batch_size``).

        ``one`` handles a message alone when its batch failed (see :mod:`animas_core.batch_pull`).
        ``spec.max_ack_pending`` should be at least ``batch_size``: it bounds what one pull gets.
        """
        self._batched.append((spec, batch, one, batch_size))
        self._consumers.append(spec)

    async def start(self) -> None:
        """Start consuming and reporting health."""
        await self.broker.start()
        for spec, batch, one, batch_size in self._batched:
            puller = BatchPuller(
                self.js,
                self._consumer_config(spec),
                stream=spec.stream,
                inbox=f"{inbox_prefix(self.service)}.".encode(),
                wrap=JsDelivery,
            )
            settle = Settle(
                batch,
                one,
                service=self.service,
                sink=JsDeadLetterSink(self.broker, self.service, self.metrics, spec.durable),
                retry=self.retry,
                keepalive_s=max(self.settings.ack_wait_s / 3, 0.5),
            )
            self.background(asyncio.create_task(puller.run(batch_size, self._counting(spec.durable, settle))))
        self._health_task = asyncio.create_task(self._report_health())
        if self.metrics.exporting:  # a request per durable: only where metrics go somewhere
            self.background(asyncio.create_task(self._report_lag()))

    def _counting(self, durable: str, settle: Settle) -> Callable[[Sequence[Delivery]], Awaitable[None]]:
        """``settle``, counting the redelivered messages of each batch first."""

        async def counted(deliveries: Sequence[Delivery]) -> None:
            for delivery in deliveries:
                if delivery.deliveries > 1:
                    self.metrics.redelivered(durable)
            await settle(deliveries)

        return counted

    async def _report_lag(self) -> None:
        """Sample each own durable's lag (pending plus unacknowledged) every health interval."""
        while True:
            for spec in [*self._consumers, *self._provisioned]:
                try:
                    info = await self.js.consumer_info(spec.stream, spec.durable)
                except Exception as exc:  # not created yet, or the broker is away: next round
                    _log.debug("consumer info failed: %r", exc, extra={"durable": spec.durable})
                    continue
                lag = (info.num_pending or 0) + (info.num_ack_pending or 0)
                self.metrics.lag_sampled(spec.stream, spec.durable, lag)
            await asyncio.sleep(self.settings.health_interval_s)

    def background(self, task: asyncio.Task[None]) -> None:
        """A task that runs for the life of the service and is cancelled when it stops."""
        self._background.append(task)

    def on_shutdown(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Run ``callback`` when the service stops, before it disconnects."""
        self._on_shutdown.append(callback)

    async def stop(self) -> None:
        """Stop reporting, withdraw the health record, stop consuming and disconnect."""
        for callback in self._on_shutdown:
            with contextlib.suppress(Exception):
                await callback()
        for task in self._background:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.config_feed.stop()
        if self._health_task is not None:
            self._health_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._health_task
            with contextlib.suppress(Exception):
                kv = await self.js.key_value(SERVICES_BUCKET)
                await kv.delete(self.health_key)
        await self.broker.stop()

    @property
    def health_key(self) -> str:
        """This instance's key in the ``SERVICES`` bucket."""
        return f"{self.service}.{self.instance}".replace(" ", "_")

    def health_record(self) -> dict[str, Any]:
        """What this instance reports about itself."""
        return {
            "service": self.service,
            "instance": self.instance,
            "pid": os.getpid(),
            "status": "ready",
            "started_at": self._started_at,
            "ts": time.time(),
            "partitions": self.partitions,
            "consumers": [c.durable for c in self._consumers],
            "provisioned_only": [c.durable for c in self._provisioned],
            "config_revision": self.config_feed.revision,
            **self.extra_health,
        }

    async def _report_health(self) -> None:
        kv = await self.js.key_value(SERVICES_BUCKET)
        while True:
            reported = False
            try:
                await kv.put(self.health_key, json.dumps(self.health_record()).encode())
                reported = True
            except Exception as exc:  # the next report may get through
                _log.warning("health report failed: %r", exc)
            if self._probe is not None:
                try:
                    self._probe.beat(reported=reported)
                except OSError as exc:  # a probe failing is the visible effect
                    _log.warning("probe file not written: %r", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._health_now.wait(), self.settings.health_interval_s)
            self._health_now.clear()


async def serve_until_signalled(
    runtime: ServiceRuntime, setup: Callable[[ServiceRuntime], Awaitable[None]] | None = None
) -> None:
    """Connect, run ``setup`` (register consumers), start, and stop cleanly on SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await runtime.connect()
    if setup is not None:
        await setup(runtime)
    await runtime.start()
    _log.info("service ready", extra={"instance": runtime.instance, "partitions": runtime.partitions})
    # What start-up loaded (modules, models, clients) lives as long as the process: the collector
    # need not walk it again, at each full collection or at exit. Tearing down torch's objects
    # took priming ~2.4 s of CPU at every stop; frozen, its exit takes ~0.5 s.
    gc.freeze()
    await stop.wait()
    _log.info("service stopping")
    await runtime.stop()
