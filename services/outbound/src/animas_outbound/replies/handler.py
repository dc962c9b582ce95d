"""The reply handler: an answer to a message from outside, posted back once, with retries.

Per ``response.sent`` that names a webhook source (the others are not its business):

1. Settled before (the delivery log) or, on a redelivery, recorded in the stream already
   (``outbound.delivered`` or ``outbound.failed``, ids derived from the answer): nothing is posted.
2. Where it goes comes from the source's config and the answer's thread
   (:func:`animas_outbound.replies.targets.reply_target`); nowhere is a failure at once.
3. The post is tried up to ``attempts`` times with exponential backoff; a permanent error stops
   at once.
4. ``outbound.delivered`` (kind ``external``, ``to`` the source) or ``outbound.failed`` is
   published on the answering anima's subject, a failure is dead-lettered, and the outcome written
   to the delivery log.

Slack and Chatwork have no idempotency key: exactly once holds unless outbound dies between the
platform's acceptance of a post and the record of it (then the redelivery posts again); every
other repeat (the broker's redelivery, the same answer stored again later) posts nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from animas_contracts import (
    ContractError,
    Event,
    MessageKind,
    OutboundDelivered,
    OutboundFailed,
    OutboundKind,
    ResponseSent,
    derive_id,
)
from animas_core.broker import EventSink
from animas_core.config import WebhookSource
from animas_core.faults import FaultPoints
from animas_core.policy import Delivery, dead_letter_of
from animas_core.provenance import decode_delivered
from animas_outbound.notify.attempts import SendAttempts
from animas_outbound.notify.handler import DeadLetters
from animas_outbound.ports import DeliveryLog, StoredEvents
from animas_outbound.replies.targets import Target, Unroutable, reply_target

_log = logging.getLogger(__name__)

PRODUCER = "outbound"
AFTER_POST = "outbound-after-external-post"
"""Fault point between the platform's acceptance of a post and its record (crash tests)."""


class Poster(Protocol):
    """Posts one answer to its platform (:class:`animas_outbound.replies.platforms.ReplyPoster`)."""

    async def post(self, target: Target, text: str, key: str) -> str | None: ...


def reply_key(answer_id: str) -> str:
    """The answer's key: the delivery log's entry and a callback's ``Idempotency-Key``."""
    return derive_id(answer_id, "external")


def delivered_id(answer_id: str) -> str:
    """Id of the ``outbound.delivered`` record of an answer posted outside."""
    return derive_id(answer_id, "external", "delivered")


def failed_id(answer_id: str) -> str:
    """Id of the ``outbound.failed`` record of an answer that could not be posted."""
    return derive_id(answer_id, "external", "failed")


def decode_answer(subject: str, data: bytes) -> ResponseSent | None:
    """The answer in a delivery when it goes outside; None for any other answer."""
    event = decode_delivered(subject, data)
    if not isinstance(event, ResponseSent):
        raise ContractError(f"expected response.sent, got {event.event_type}")
    return event if event.source is not None else None


class ExternalReplies:
    """Handles ``response.sent`` on outbound's ``outbound-replies`` durable."""

    def __init__(
        self,
        *,
        publisher: EventSink,
        sources: Callable[[], dict[str, WebhookSource]],
        poster: Poster,
        log: DeliveryLog,
        stored: StoredEvents,
        dead_letters: DeadLetters,
        faults: FaultPoints,
        service: str,
        attempts: int = 3,
        backoff_s: float = 1.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._publisher = publisher
        self._sources = sources
        self._poster = poster
        self._log = log
        self._stored = stored
        self._dead_letters = dead_letters
        self._faults = faults
        self._service = service
        self._attempts = SendAttempts(attempts, backoff_s, sleep)

    async def __call__(self, data: bytes, delivery: Delivery) -> None:
        answer = decode_answer(delivery.subject, data)
        if answer is None:
            return
        key = reply_key(answer.id)
        if await self._log.settled(key):
            _log.info("answer was posted (or failed) before; not again", extra={"answer_id": answer.id})
            return
        if delivery.deliveries > 1 and await self._recorded(answer, delivery.stream_seq or 0):
            await self._log.record(key, "settled")
            return
        try:
            target = reply_target(answer, self._sources())
        except Unroutable as exc:
            await self._fail(answer, str(exc), 0, delivery)
            return
        attempts, reason, posted = await self._post(target, answer, key)
        if reason is not None:
            await self._fail(answer, reason, attempts, delivery)
            return
        self._faults.reach(AFTER_POST)
        await self._publisher.publish(_delivered(answer, posted))
        await self._log.record(key, "delivered")
        _log.info(
            "answer posted outside",
            extra={"answer_id": answer.id, "source": answer.source, "attempts": attempts},
        )

    async def _recorded(self, answer: ResponseSent, after_seq: int) -> bool:
        for record in (_delivered(answer, None), _failed(answer, "")):
            if await self._stored(record, after_seq):
                _log.info("redelivered answer was settled already", extra={"answer_id": answer.id})
                return True
        return False

    async def _post(
        self, target: Target, answer: ResponseSent, key: str
    ) -> tuple[int, str | None, str | None]:
        """Attempts made, the last error (None: posted) and the platform's id of the post."""
        posted = await self._attempts.send(
            lambda: self._poster.post(target, answer.text, key),
            "posting an answer",
            {"source": answer.source},
        )
        return posted.attempts, posted.error, posted.result

    async def _fail(self, answer: ResponseSent, reason: str, attempts: int, delivery: Delivery) -> None:
        reason = f"{reason} (after {attempts} attempt{'s' if attempts != 1 else ''})" if attempts else reason
        await self._publisher.publish(_failed(answer, reason))
        letter = dead_letter_of(
            delivery, self._service, f"answer to webhook source {answer.source} failed: {reason}"
        )
        await self._dead_letters.park(letter, derive_id(answer.id, "external", "deadletter"))
        await self._log.record(reply_key(answer.id), "failed")
        _log.warning(
            "answer not posted outside",
            extra={"answer_id": answer.id, "source": answer.source, "reason": reason},
        )


def _delivered(answer: ResponseSent, posted: str | None) -> Event:
    return OutboundDelivered(
        id=delivered_id(answer.id),
        anima=answer.anima,
        correlation_id=answer.correlation_id,
        causation_id=answer.id,
        producer=PRODUCER,
        request_id=answer.id,
        kind=OutboundKind.EXTERNAL,
        to=answer.source or "",
        delivered_id=posted or "",
        text=answer.text,
        intent=MessageKind.REPLY,
        thread_id=answer.thread_id,
    )


def _failed(answer: ResponseSent, reason: str) -> Event:
    return OutboundFailed(
        id=failed_id(answer.id),
        anima=answer.anima,
        correlation_id=answer.correlation_id,
        causation_id=answer.id,
        producer=PRODUCER,
        request_id=answer.id,
        kind=OutboundKind.EXTERNAL,
        to=answer.source or "",
        reason=reason,
    )
