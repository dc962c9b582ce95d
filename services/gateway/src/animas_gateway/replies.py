"""Matching events on the bus to the HTTP requests waiting for them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from animas_contracts import (
    ContractError,
    Event,
    MemoryOpApplied,
    MemoryOpRejected,
    ResponseSent,
    decode_event,
)

_log = logging.getLogger(__name__)

# Core NATS sees the subject as published (the stream's partition transform applies to storage
# only), so one wildcard catches every anima's events of a kind as they are stored.
REPLY_SUBJECT = "activity.*.response.sent"
OUTCOME_SUBJECT = "activity.*.memory.op.*"


def reply_key(event: Event) -> str | None:
    """A reply is awaited under the id of the message it answers."""
    return event.in_reply_to if isinstance(event, ResponseSent) else None


def outcome_key(event: Event) -> str | None:
    """memory-writer's answer is awaited under the id of the change it answers."""
    return event.op_id if isinstance(event, MemoryOpApplied | MemoryOpRejected) else None


class EventWaiter:
    """Futures keyed by an id, resolved when the event carrying that id passes by.

    Every gateway replica sees every event and resolves only its own waiters, so any replica can
    serve any request. A waiter is registered before its request is published, so a fast answer
    cannot be missed.
    """

    def __init__(self, subject: str, key: Callable[[Event], str | None]) -> None:
        self._subject = subject
        self._key = key
        self._waiting: dict[str, asyncio.Future[Event]] = {}
        self._sub: Subscription | None = None

    async def start(self, nc: Client) -> None:
        """Subscribe."""
        self._sub = await nc.subscribe(self._subject, cb=self._on_event)

    async def stop(self) -> None:
        """Unsubscribe and cancel every waiter."""
        if self._sub is not None:
            await self._sub.unsubscribe()
        for future in self._waiting.values():
            future.cancel()
        self._waiting.clear()

    @property
    def pending(self) -> int:
        """How many requests are waiting."""
        return len(self._waiting)

    def expect(self, key: str) -> asyncio.Future[Event]:
        """A future for the event carrying ``key``."""
        future: asyncio.Future[Event] = asyncio.get_running_loop().create_future()
        self._waiting[key] = future
        return future

    def forget(self, key: str) -> None:
        """Stop waiting."""
        self._waiting.pop(key, None)

    async def _on_event(self, msg: Msg) -> None:
        try:
            event = decode_event(msg.data)
        except ContractError as exc:
            _log.warning("undecodable event on %s: %s", msg.subject, exc)
            return
        key = self._key(event)
        future = self._waiting.pop(key, None) if key else None
        if future is not None and not future.done():
            future.set_result(event)
