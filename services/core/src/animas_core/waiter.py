"""Matching events on the bus to the requests waiting for them.

Core NATS sees an event under the subject it was published on (the activity stream's partition
transform applies to storage only), so a wildcard subscription catches every anima's events of a
kind as they are stored.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from animas_contracts import ContractError, Event, MemoryOpApplied, MemoryOpRejected
from animas_core.provenance import decode_delivered

_log = logging.getLogger(__name__)

OUTCOME_SUBJECT = "activity.*.memory.op.*"
"""memory-writer's answers to memory operations."""


def outcome_key(event: Event) -> str | None:
    """memory-writer's answer is awaited under the id of the change it answers."""
    return event.op_id if isinstance(event, MemoryOpApplied | MemoryOpRejected) else None


class EventWaiter:
    """Futures keyed by an id, resolved when the event carrying that id passes by.

    Every replica sees every event and resolves only its own waiters, so any replica can serve
    any request. Register with :meth:`expect` before publishing the request, so a fast answer
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
            self._sub = None
        for future in self._waiting.values():
            future.cancel()
        self._waiting.clear()

    def expect(self, key: str) -> asyncio.Future[Event]:
        """A future for the event carrying ``key``."""
        future: asyncio.Future[Event] = asyncio.get_running_loop().create_future()
        self._waiting[key] = future
        return future

    @property
    def pending(self) -> int:
        """How many waiters are registered (nothing should be left once requests are done)."""
        return len(self._waiting)

    def forget(self, key: str) -> None:
        """Stop waiting."""
        self._waiting.pop(key, None)

    async def _on_event(self, msg: Msg) -> None:
        try:
            event = decode_delivered(msg.subject, msg.data)
        except ContractError as exc:
            _log.warning("undecodable event on %s: %s", msg.subject, exc)
            return
        key = self._key(event)
        future = self._waiting.pop(key, None) if key else None
        if future is not None and not future.done():
            future.set_result(event)
