"""The notification handler: each enabled channel once, with retries, then a record of how it went.

Per ``human.notify.requested``:

1. The 24-hour rule: a request repeating one the same anima made within 24 hours (same dedup
   key) is not sent; every channel gets a ``human.notified`` with ``duplicate_of``.
2. Each enabled channel whose outcome is not recorded yet is sent, with the idempotency key
   ``derive_id(request, channel)``, up to ``attempts`` times with exponential backoff.
3. Its event (``human.notified`` or ``human.notify.failed``, ids derived from request and
   channel) is published, a failure dead-lettered, and then the outcome recorded: a redelivery
   (after a SIGKILL, say) skips the channels already recorded and repeats only an unrecorded one,
   under the same key and ids.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from animas_contracts import (
    ContractError,
    DeadLetter,
    HumanNotified,
    HumanNotifyFailed,
    HumanNotifyRequested,
    derive_id,
)
from animas_core.broker import EventSink
from animas_core.faults import FaultPoints
from animas_core.notify_records import ChannelOutcome
from animas_core.policy import Delivery, dead_letter_of
from animas_core.provenance import decode_delivered
from animas_outbound.notify.adapters import (
    Notification,
    NotifierAdapter,
)
from animas_outbound.notify.attempts import SendAttempts
from animas_outbound.notify.records import NotifyStore

_log = logging.getLogger(__name__)

PRODUCER = "outbound"
BETWEEN_CHANNELS = "outbound-between-notify-channels"
"""Fault point after one channel was sent and recorded, before the next (crash tests)."""
NO_CHANNEL = "none"
"""The channel named in the failure of a request that had no channel to go to."""


@dataclasses.dataclass(frozen=True)
class Channel:
    """An enabled channel: its adapter, or why it cannot be used."""

    name: str
    adapter: NotifierAdapter | None
    unusable: str | None = None


@dataclasses.dataclass(frozen=True)
class Channels:
    """What config.json says now: the enabled channels, or why nothing can be sent."""

    channels: Sequence[Channel]
    off_reason: str | None = None


class DeadLetters(Protocol):
    """Parks a failed channel's request in ``DEADLETTER`` (once per request and channel)."""

    async def park(self, letter: DeadLetter, msg_id: str) -> None: ...


def notified_id(request_id: str, channel: str) -> str:
    """Id of a channel's ``human.notified``."""
    return derive_id(request_id, "human.notified", channel)


def failed_id(request_id: str, channel: str) -> str:
    """Id of a channel's ``human.notify.failed``."""
    return derive_id(request_id, "human.notify.failed", channel)


def idempotency_key(request_id: str, channel: str) -> str:
    """The key a channel's receiver sees: the same for every attempt and redelivery."""
    return derive_id(request_id, channel)


def decode_notify_request(subject: str, data: bytes) -> HumanNotifyRequested:
    """The request in a delivery; anything else is a :class:`ContractError`."""
    event = decode_delivered(subject, data)
    if not isinstance(event, HumanNotifyRequested):
        raise ContractError(f"expected human.notify.requested, got {event.event_type}")
    return event


class NotifyHandler:
    """Handles ``human.notify.requested`` on outbound's own durable (``outbound-notify``)."""

    def __init__(
        self,
        *,
        publisher: EventSink,
        store: NotifyStore,
        channels: Callable[[], Channels],
        dead_letters: DeadLetters,
        faults: FaultPoints,
        service: str,
        attempts: int = 3,
        backoff_s: float = 1.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._publisher = publisher
        self._store = store
        self._channels = channels
        self._dead_letters = dead_letters
        self._faults = faults
        self._service = service
        self._attempts = SendAttempts(attempts, backoff_s, sleep)

    async def __call__(self, data: bytes, delivery: Delivery) -> None:
        request = decode_notify_request(delivery.subject, data)
        configured = self._channels()
        if configured.off_reason is not None or not configured.channels:
            reason = configured.off_reason or "no notification channel is enabled in config.json"
            await self._publisher.publish(self._failed(request, NO_CHANNEL, 0, reason))
            _log.warning("notification not sent", extra={"request_id": request.id, "reason": reason})
            return
        earlier = await self._store.claim(request.anima, request.dedup_key, request.id, request.ts)
        if earlier is not None:
            for channel in configured.channels:
                await self._publisher.publish(self._notified(request, channel.name, 0, earlier))
            _log.info("repeat within 24 hours; not sent", extra={"request_id": request.id, "first": earlier})
            return
        pending = [c for c in configured.channels if await self._store.outcome(request.id, c.name) is None]
        for number, channel in enumerate(pending, start=1):
            await self._settle(request, channel, delivery)
            if number < len(pending):
                self._faults.reach(BETWEEN_CHANNELS)

    async def _settle(self, request: HumanNotifyRequested, channel: Channel, delivery: Delivery) -> None:
        attempts, reason = await self._send(request, channel)
        if reason is None:
            await self._publisher.publish(self._notified(request, channel.name, attempts, None))
            status = "delivered"
        else:
            await self._publisher.publish(self._failed(request, channel.name, attempts, reason))
            letter = dead_letter_of(
                delivery, self._service, f"notification channel {channel.name} failed: {reason}"
            )
            await self._dead_letters.park(letter, derive_id(request.id, channel.name, "deadletter"))
            status = "failed"
        await self._store.record(
            ChannelOutcome(
                status=status,
                anima=request.anima,
                request_id=request.id,
                channel=channel.name,
                subject=request.subject,
                attempts=attempts,
                ts=request.ts.isoformat(),
                reason=reason,
            )
        )
        _log.info(
            "notification %s",
            status,
            extra={"request_id": request.id, "channel": channel.name, "attempts": attempts},
        )

    async def _send(self, request: HumanNotifyRequested, channel: Channel) -> tuple[int, str | None]:
        """Attempts made, and the last error (None: delivered)."""
        if channel.adapter is None:
            return 0, channel.unusable or "the channel cannot be used"
        notification = Notification(
            request_id=request.id,
            anima=request.anima,
            subject=request.subject,
            body=request.body,
            priority=request.priority,
            ts=request.ts,
        )
        key = idempotency_key(request.id, channel.name)
        adapter = channel.adapter
        sent = await self._attempts.send(
            lambda: adapter.send(notification, key), "notification attempt", {"channel": channel.name}
        )
        return sent.attempts, sent.error

    def _notified(
        self, request: HumanNotifyRequested, channel: str, attempts: int, duplicate_of: str | None
    ) -> HumanNotified:
        return HumanNotified(
            id=notified_id(request.id, channel),
            anima=request.anima,
            correlation_id=request.correlation_id,
            causation_id=request.id,
            producer=PRODUCER,
            request_id=request.id,
            channel=channel,
            attempts=attempts,
            duplicate_of=duplicate_of,
        )

    def _failed(
        self, request: HumanNotifyRequested, channel: str, attempts: int, reason: str
    ) -> HumanNotifyFailed:
        return HumanNotifyFailed(
            id=failed_id(request.id, channel),
            anima=request.anima,
            correlation_id=request.correlation_id,
            causation_id=request.id,
            producer=PRODUCER,
            request_id=request.id,
            channel=channel,
            attempts=attempts,
            reason=reason,
        )
