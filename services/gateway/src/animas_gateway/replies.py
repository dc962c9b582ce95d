"""Matching replies on the bus to the HTTP requests waiting for them."""

from __future__ import annotations

import asyncio
import logging

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from animas_contracts import ContractError, ResponseSent, decode_event

_log = logging.getLogger(__name__)

# Core NATS sees the subject as published (the stream's partition transform applies to storage
# only), so one wildcard catches every anima's replies as they are stored.
REPLY_SUBJECT = "activity.*.response.sent"


class ReplyWaiter:
    """Futures keyed by message id, resolved when the ``response.sent`` for that id passes by.

    Every gateway replica sees every reply and resolves only its own waiters, so any replica
    can serve any request. A waiter is registered before the message is published, so a fast
    reply cannot be missed.
    """

    def __init__(self) -> None:
        self._waiting: dict[str, asyncio.Future[ResponseSent]] = {}
        self._sub: Subscription | None = None

    async def start(self, nc: Client) -> None:
        """Subscribe to replies."""
        self._sub = await nc.subscribe(REPLY_SUBJECT, cb=self._on_reply)

    async def stop(self) -> None:
        """Unsubscribe and fail every waiter."""
        if self._sub is not None:
            await self._sub.unsubscribe()
        for future in self._waiting.values():
            future.cancel()
        self._waiting.clear()

    def expect(self, message_id: str) -> asyncio.Future[ResponseSent]:
        """A future for the reply to ``message_id``."""
        future: asyncio.Future[ResponseSent] = asyncio.get_running_loop().create_future()
        self._waiting[message_id] = future
        return future

    def forget(self, message_id: str) -> None:
        """Stop waiting for a reply."""
        self._waiting.pop(message_id, None)

    async def _on_reply(self, msg: Msg) -> None:
        try:
            event = decode_event(msg.data)
        except ContractError as exc:
            _log.warning("undecodable reply on %s: %s", msg.subject, exc)
            return
        if not isinstance(event, ResponseSent):
            return
        future = self._waiting.pop(event.in_reply_to, None)
        if future is not None and not future.done():
            future.set_result(event)
