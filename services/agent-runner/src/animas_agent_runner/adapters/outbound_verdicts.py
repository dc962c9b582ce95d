"""Sending through outbound and hearing back: a tool learns whether its message was delivered.

outbound is the one place a message is checked (the recipient, the loop limits, the storm
guards, the org chart), so a tool that sends waits for outbound's ``outbound.delivered`` or
``outbound.failed`` and tells the model what happened, as memory tools wait for memory-writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator
from typing import cast

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import PubAck

from animas_agent_runner.ports import SendVerdict
from animas_contracts import ContractError, Event, OutboundDelivered, OutboundFailed, OutboundRequested
from animas_contracts.subjects import HEADER_MSG_ID, stored_activity_filter
from animas_core.broker import EventSink
from animas_core.provenance import decode_delivered
from animas_core.streams import read_stored
from animas_core.waiter import EventWaiter

_log = logging.getLogger(__name__)

VERDICT_SUBJECT = "activity.*.outbound.*"
"""outbound's records of a request (``delivered``/``failed``); also matches ``requested``."""


def verdict_key(event: Event) -> str | None:
    """The verdict of outbound is awaited under the id of the request it settles."""
    return event.request_id if isinstance(event, OutboundDelivered | OutboundFailed) else None


class BusOutboundSender:
    """Publishes a request and waits for outbound's verdict; looks it up when the wait misses it.

    A request published again under its id (a redelivered cycle) is dropped by JetStream and
    outbound does not settle it twice: its verdict is then read from the stream after the first
    copy. Nothing found is "not confirmed yet", never "failed".
    """

    def __init__(self, publisher: EventSink, waiter: EventWaiter, js: JetStreamContext | None) -> None:
        self._publisher = publisher
        self._waiter = waiter
        self._js = js

    async def send(self, request: OutboundRequested, timeout_s: float) -> SendVerdict:
        future = self._waiter.expect(request.id)
        try:
            ack = await self._publisher.publish(request)
            stored_at = ack.seq if isinstance(ack, PubAck) else None
            event: Event | None = None
            if stored_at is not None and ack.duplicate:
                event = await self._look_up(request, stored_at)
            if event is None:
                try:
                    event = await asyncio.wait_for(future, timeout_s)
                except TimeoutError:
                    event = await self._look_up(request, stored_at)
        finally:
            self._waiter.forget(request.id)
        if isinstance(event, OutboundFailed):
            return SendVerdict(delivered=False, reason=event.reason)
        return SendVerdict(delivered=True if event is not None else None)

    async def _look_up(self, request: OutboundRequested, stored_at: int | None) -> Event | None:
        if self._js is None or stored_at is None:
            return None
        try:
            return await _verdict_after(self._js, request, stored_at)
        except Exception as exc:
            _log.warning("could not look up outbound's verdict: %r", exc, extra={"request_id": request.id})
            return None


async def _verdict_after(js: JetStreamContext, request: OutboundRequested, after_seq: int) -> Event | None:
    """The record outbound stored of ``request`` after ``after_seq`` (sender's subject), if any."""
    subject = stored_activity_filter(anima=request.anima, event_type="outbound.*")
    scan = read_stored(js, subject, start_seq=after_seq + 1)
    async with contextlib.aclosing(cast(AsyncGenerator[Msg, None], scan)) as messages:
        async for msg in messages:
            if (msg.headers or {}).get(HEADER_MSG_ID) is None:
                continue
            try:
                event = decode_delivered(msg.subject, msg.data)
            except ContractError:
                continue
            if verdict_key(event) == request.id:
                return event
    return None
