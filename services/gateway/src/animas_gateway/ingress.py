"""Idempotent ingress: a message sent again under its key is found in the stream, never stored twice.

A client that got no answer (a 503 because the store's ack was lost, a dropped connection) cannot
know whether its message was stored. With an ``Idempotency-Key`` the message id is derived from
the anima and the key (:func:`~animas_gateway.domain.ingress_message_id`), and before storing it
the gateway looks for that id among the anima's stored messages of the last
``api.idempotency_window_s``; JetStream's duplicate window catches the race of two retries at
once. A message already stored is not stored again: its reply is looked up among the anima's
stored replies of the same window, or awaited if it is still coming.

Everything here reads with direct gets (``read_stored``): the gateway's NATS user needs read
access to the ACTIVITY stream's stored messages, and makes no consumer.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from datetime import datetime, timedelta
from typing import cast

from nats.aio.msg import Msg
from nats.js import JetStreamContext

from animas_contracts import ContractError, MessageReceived, ResponseSent, decode_event
from animas_contracts.subjects import ACTIVITY_STREAM, HEADER_MSG_ID, stored_activity_filter
from animas_core.broker import EventSink
from animas_core.streams import read_stored

_log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


@dataclasses.dataclass(frozen=True)
class Stored:
    """A message found in the stream, and what it said."""

    message: MessageReceived | None
    """``None`` when the stored bytes are not a readable ``message.received`` (then nothing is compared)."""


class StoredMessages:
    """Looks up an anima's stored messages and replies in the activity stream (reads only)."""

    def __init__(self, js: JetStreamContext, clock: Clock) -> None:
        self._js = js
        self._clock = clock

    def since(self, window_s: float) -> datetime:
        """The start of the window a key is honoured in."""
        return self._clock() - timedelta(seconds=window_s)

    async def find_message(self, anima: str, message_id: str, since: datetime) -> Stored | None:
        """The stored message ``message_id`` of ``anima``, if it was stored since ``since``.

        Only this anima's messages are read (the stream filters by subject); the id is the
        ``Nats-Msg-Id`` header, so a payload is decoded only for the one that matches.
        """
        subject = stored_activity_filter(anima=anima, event_type="message.received")
        async with _reading(read_stored(self._js, subject, start_time=since)) as messages:
            async for msg in messages:
                if (msg.headers or {}).get(HEADER_MSG_ID) == message_id:
                    return _as_stored(msg.data, where=msg.subject)
        return None

    async def stored_at(self, seq: int) -> Stored:
        """The message stored at ``seq`` (a duplicate publish's ack names where the first one is)."""
        raw = await self._js.get_msg(ACTIVITY_STREAM, seq)
        return _as_stored(raw.data or b"", where=f"seq {seq}")

    async def find_reply(self, anima: str, message_id: str, since: datetime) -> ResponseSent | None:
        """The reply to ``message_id``, if it is already stored (after ``since``, like its message)."""
        subject = stored_activity_filter(anima=anima, event_type="response.sent")
        async with _reading(read_stored(self._js, subject, start_time=since)) as replies:
            async for msg in replies:
                try:
                    event = decode_event(msg.data)
                except ContractError:
                    continue  # not ours to judge: the consumers dead-letter it
                # The subject filter names the anima; the payload must agree, and link to the message.
                if (
                    isinstance(event, ResponseSent)
                    and event.anima == anima
                    and event.in_reply_to == message_id
                ):
                    return event
        return None


def _reading(scan: AsyncIterator[Msg]) -> contextlib.aclosing[AsyncGenerator[Msg, None]]:
    # Closing the scan as soon as the answer is found ends its reads now, not in a finalizer
    # that may run after the connection is gone.
    return contextlib.aclosing(cast(AsyncGenerator[Msg, None], scan))


def _as_stored(data: bytes, *, where: str) -> Stored:
    try:
        event = decode_event(data)
    except ContractError as exc:
        _log.warning("unreadable stored message at %s: %s", where, exc)
        return Stored(None)
    return Stored(event if isinstance(event, MessageReceived) else None)


@dataclasses.dataclass(frozen=True)
class Delivered:
    """What storing a keyed message came to: stored now, or found stored before (and maybe answered)."""

    earlier: Stored | None = None
    reply: ResponseSent | None = None


async def deliver_once(
    publisher: EventSink, stored: StoredMessages, event: MessageReceived, window_s: float
) -> Delivered:
    """Store ``event`` unless it is stored already; then say whether it was, and its reply if there is one.

    Raises whatever the lookups and the publish raise (the caller answers 503: a retry is safe).
    """
    since = stored.since(window_s)
    earlier = await stored.find_message(event.anima, event.id, since)
    if earlier is None:
        ack = await publisher.publish(event)
        if not getattr(ack, "duplicate", False):
            return Delivered()
        # Another request with this key stored it a moment ago: the ack names where.
        earlier = await stored.stored_at(int(ack.seq))
    reply = await stored.find_reply(event.anima, event.id, since)
    return Delivered(earlier=earlier, reply=reply)
