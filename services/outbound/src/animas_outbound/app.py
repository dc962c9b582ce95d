"""The composition root of outbound.

One durable consumer of every anima's ``outbound.requested`` events delivers messages to other
animas (as their ``message.received``) and posts to channels. Notifications to humans and
external systems (Slack, Chatwork, webhooks) are not delivered yet; the health record says so.
"""

from __future__ import annotations

from animas_contracts import Event
from animas_contracts.subjects import ACTIVITY_STREAM, stored_activity_filter
from animas_core.broker import EventSink
from animas_core.memory_client import MemoryClient
from animas_core.runtime import ConsumerSpec, ServiceRuntime
from animas_core.streams import event_stored_after
from animas_outbound.handlers import OutboundHandler
from animas_outbound.ports import AnimaDirectory, StoredEvents
from animas_outbound.settings import OutboundSettings

SERVICE = "outbound"

REQUESTS = ConsumerSpec(
    durable="outbound-requests",
    filter_subject=stored_activity_filter(event_type="outbound.requested"),
    stream=ACTIVITY_STREAM,
    # One in flight: an anima's messages arrive in the order it sent them, redeliveries included.
    max_ack_pending=1,
)

PENDING_WORK = "notifications to humans and external systems (Slack, Chatwork, webhooks)"


def stream_ledger(runtime: ServiceRuntime) -> StoredEvents:
    """The redelivery guard over the activity stream (:func:`animas_core.streams.event_stored_after`)."""

    async def stored(event: Event, after_seq: int) -> bool:
        return await event_stored_after(
            runtime.js,
            anima=event.anima,
            event_type=event.event_type,
            event_id=event.id,
            after_seq=after_seq,
        )

    return stored


async def setup(
    runtime: ServiceRuntime,
    settings: OutboundSettings,
    *,
    publisher: EventSink | None = None,
    directory: AnimaDirectory | None = None,
    stored: StoredEvents | None = None,
) -> None:
    """Register the request handler; the ports default to the real ones."""
    handler = OutboundHandler(
        publisher=publisher or runtime.publisher,
        directory=directory or MemoryClient(runtime.broker.connection, timeout_s=settings.memory_timeout_s),
        stored=stored or stream_ledger(runtime),
        faults=runtime.faults,
    )
    runtime.consume(REQUESTS, handler)
    runtime.extra_health["pending_work"] = PENDING_WORK
