"""The broker connection and the one way services publish events."""

from __future__ import annotations

import logging
from typing import Any, Protocol

from fast_depends.msgspec import MsgSpecSerializer
from faststream.nats import NatsBroker
from faststream.nats.opentelemetry import NatsTelemetryMiddleware
from faststream.security import SASLPlaintext
from opentelemetry.trace import TracerProvider

from animas_contracts import Event, ModelDelta, encode_event
from animas_contracts.subjects import (
    ACTIVITY_STREAM,
    DELTAS_STREAM,
    HEADER_EVENT_TYPE,
    HEADER_MSG_ID,
    activity_subject,
    delta_subject,
    inbox_prefix,
)
from animas_core.broker_errors import BROKER_UNREACHABLE
from animas_core.errors import RetryableError
from animas_core.logging import redact
from animas_core.settings import NatsSettings

_log = logging.getLogger(__name__)

OUTAGE_BUFFER_BYTES = 16 * 1024 * 1024
"""What a connection holds for the broker while it is away (nats-py's default is 2 MiB)."""


def make_broker(
    settings: NatsSettings, service: str, *, tracer_provider: TracerProvider | None = None
) -> NatsBroker:
    """A FastStream NATS broker for one service: its own NATS user, msgspec, trace propagation."""
    security = None
    if settings.user:
        password = settings.password.get_secret_value() if settings.password else ""
        security = SASLPlaintext(username=settings.user, password=password)

    async def on_error(exc: Exception) -> None:
        # A permission violation arrives here (and the publish itself times out); so does every
        # refused reconnect attempt while the broker is down, which is expected and only a warning.
        level = logging.WARNING if isinstance(exc, OSError) else logging.ERROR
        _log.log(level, "nats connection error: %s", exc, extra={"nats_error": type(exc).__name__})

    async def on_disconnected() -> None:
        _log.warning("nats disconnected; reconnecting to %s", redact(settings.url))

    async def on_reconnected() -> None:
        _log.warning("nats reconnected to %s", redact(settings.url))

    return NatsBroker(
        settings.servers,
        name=f"animaworks-{service}",
        serializer=MsgSpecSerializer(),
        middlewares=[NatsTelemetryMiddleware(tracer_provider=tracer_provider)],
        security=security,
        connect_timeout=settings.connect_timeout_s,
        # Through a broker outage: keep reconnecting (nats-py's default gives up after 60 tries),
        # and buffer what is sent meanwhile. FastStream's pull loops send one fetch per consumer a
        # second while disconnected; a full buffer makes each fetch fail at once, and the loops
        # then spin (FastStream restarts a failed loop without a pause), so the buffer is sized for
        # an hour of fetches from a service with 32 partitions' consumers.
        max_reconnect_attempts=settings.max_reconnect_attempts,
        reconnect_time_wait=settings.reconnect_wait_s,  # type: ignore[arg-type]  # nats-py sleeps a float
        pending_size=OUTAGE_BUFFER_BYTES,
        disconnected_cb=on_disconnected,
        reconnected_cb=on_reconnected,
        # Replies, publish acks and pull fetches come to _INBOX.<service>.…, the only inboxes the
        # broker lets this service's user subscribe to (animas_tools.authority).
        inbox_prefix=inbox_prefix(service),
        error_cb=on_error,
        logger=logging.getLogger(f"faststream.{service}"),
    )


class EventSink(Protocol):
    """Where handlers put the events they emit."""

    async def publish(self, event: Event) -> Any:
        """Store the event durably; raise :class:`RetryableError` if that failed."""
        ...


class EventPublisher:
    """Publishes events to the activity stream with their id as ``Nats-Msg-Id``.

    JetStream drops a second publish of the same id within the duplicate window, which is what
    makes derived effect ids idempotent on an at-least-once bus.
    """

    def __init__(self, broker: NatsBroker, *, timeout_s: float = 5.0) -> None:
        self._broker = broker
        self._timeout_s = timeout_s

    async def publish(self, event: Event) -> Any:
        """Publish and wait for the stream's ack; a missing ack is a :class:`RetryableError`."""
        subject, stream = route(event)
        try:
            return await self._broker.publish(
                encode_event(event),
                subject,
                headers={HEADER_MSG_ID: event.id, HEADER_EVENT_TYPE: event.event_type},
                stream=stream,
                timeout=self._timeout_s,
            )
        except BROKER_UNREACHABLE as exc:
            raise RetryableError(f"no ack from {stream} for {subject}: {exc!r}") from exc


def route(event: Event) -> tuple[str, str]:
    """The subject and stream of an event: streamed model output is journal, not activity log."""
    if isinstance(event, ModelDelta):
        return delta_subject(event.anima), DELTAS_STREAM
    return activity_subject(event.anima, event.event_type), ACTIVITY_STREAM
