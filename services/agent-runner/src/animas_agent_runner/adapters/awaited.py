"""Publish a request and wait for the service that answers it; read the answer back when missed.

Memory operations (memory-writer answers) and messages (outbound's verdict) are both requests
whose answer is another event. The waiter is registered before the publish, so a fast answer is
not missed. A request published again under its derived id (a retried call, a redelivered cycle)
is dropped by JetStream and never answered twice: its answer is then read from the stream after
the first copy, as it is when the wait times out (an answer that passed during a reconnect).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable
from typing import cast

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import PubAck

from animas_contracts import ContractError, Event
from animas_contracts.subjects import stored_activity_filter
from animas_core.broker import EventSink
from animas_core.provenance import decode_delivered
from animas_core.streams import read_stored
from animas_core.waiter import EventWaiter

_log = logging.getLogger(__name__)

LookUp = Callable[[int], Awaitable[Event | None]]
"""The answer stored after a stream sequence (where the request is), or None."""


async def publish_and_await(
    publisher: EventSink, waiter: EventWaiter, request: Event, timeout_s: float, look_up: LookUp | None
) -> Event | None:
    """Publish ``request`` and return the event that answers it, or None when none came yet."""
    future = waiter.expect(request.id)
    try:
        ack = await publisher.publish(request)
        stored_at = ack.seq if isinstance(ack, PubAck) else None
        event: Event | None = None
        if stored_at is not None and ack.duplicate:
            event = await _look_up(look_up, request, stored_at)
        if event is None:
            try:
                event = await asyncio.wait_for(future, timeout_s)
            except TimeoutError:
                event = await _look_up(look_up, request, stored_at)
    finally:
        waiter.forget(request.id)
    return event


async def _look_up(look_up: LookUp | None, request: Event, stored_at: int | None) -> Event | None:
    if look_up is None or stored_at is None:
        return None
    try:
        return await look_up(stored_at)
    except Exception as exc:
        # The stream may be out of reach too; "not confirmed" makes the caller try again.
        _log.warning("could not look up the answer: %r", exc, extra={"request_id": request.id})
        return None


async def answer_stored_after(
    js: JetStreamContext,
    anima: str,
    event_types: Iterable[str],
    after_seq: int,
    answers: Callable[[Event], bool],
) -> Event | None:
    """The first of ``anima``'s events of ``event_types`` after ``after_seq`` that ``answers`` the request.

    Only the anima's own events of those types stored after the request are read (a handful).
    """
    for event_type in event_types:
        subject = stored_activity_filter(anima=anima, event_type=event_type)
        scan = read_stored(js, subject, start_seq=after_seq + 1)
        async with contextlib.aclosing(cast(AsyncGenerator[Msg, None], scan)) as messages:
            async for msg in messages:
                try:
                    event = decode_delivered(msg.subject, msg.data)
                except ContractError:
                    continue  # unreadable, or not what its subject says: not the answer
                if answers(event):
                    return event
    return None
