"""The request handler: decode, check the recipient, deliver once, record the outcome."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from animas_contracts import (
    ContractError,
    Event,
    InvalidAnimaName,
    OutboundRequested,
    ResponseSent,
    validate_anima_name,
)
from animas_core.broker import EventSink
from animas_core.errors import PoisonMessage
from animas_core.faults import FaultPoints
from animas_core.policy import Delivery
from animas_core.provenance import decode_delivered
from animas_outbound import domain
from animas_outbound.checks import Check, Followup
from animas_outbound.ports import AnimaDirectory, DeliveryLog, StoredEvents

_log = logging.getLogger(__name__)

AFTER_DELIVERY = "outbound-after-delivery"
"""Fault point between the delivery and its ``outbound.delivered`` record (crash tests)."""


def decode_request(subject: str, data: bytes) -> OutboundRequested | None:
    """The request in a delivery, or None for an answer to a person (the gateway's to deliver).

    A request is an ``outbound.requested``, or an answer to deliver to the anima that asked (a
    ``response.sent`` marked ``deliver``). Anything else is a :class:`ContractError` or
    :class:`PoisonMessage`.
    """
    event = decode_delivered(subject, data)
    if isinstance(event, ResponseSent):
        if not event.deliver:
            return None
        event = domain.answer_request(event)
    if not isinstance(event, OutboundRequested):
        raise ContractError(f"expected outbound.requested or response.sent, got {event.event_type}")
    try:
        validate_anima_name(event.anima)
    except InvalidAnimaName as exc:
        # Without a valid sender there is no subject to tell about the failure.
        raise PoisonMessage(f"invalid sender: {exc}") from None
    return event


class OutboundHandler:
    """Delivers ``outbound.requested`` events: a message to another anima, or a channel post.

    Exactly once: every event it publishes has an id derived from the request; on a redelivery
    it first asks the stream what an earlier attempt already stored (a redelivery after
    JetStream's duplicate window delivers nothing twice either); and a settled request is written
    to the delivery log, so the same request stored again later is not sent again.
    """

    def __init__(
        self,
        *,
        publisher: EventSink,
        directory: AnimaDirectory,
        stored: StoredEvents,
        log: DeliveryLog,
        faults: FaultPoints,
        checks: Sequence[Check] = (),
        followups: Sequence[Followup] = (),
    ) -> None:
        self._publisher = publisher
        self._directory = directory
        self._stored = stored
        self._log = log
        self._faults = faults
        self._checks = tuple(checks)
        self._followups = tuple(followups)

    async def __call__(self, data: bytes, delivery: Delivery) -> None:
        """Handle one delivery of an ``outbound.requested`` event."""
        request = decode_request(delivery.subject, data)
        if request is None:
            return
        if await self._log.settled(request.id):
            _log.info("request was settled before; not sending it again", extra={"request_id": request.id})
            return
        after_seq = delivery.stream_seq or 0
        redelivered = delivery.deliveries > 1
        if redelivered and await self._finished_earlier(request, after_seq):
            await self._log.record(request.id, "delivered")
            return
        reason = domain.refusal(request)
        if reason is None and domain.needs_recipient(request):
            # A memory-writer that does not answer raises RetryableError: the request waits.
            reason = domain.recipient_refusal(request.to, await self._directory.animas())
        if reason is not None:
            await self._fail(request, reason, after_seq if redelivered else None)
            return
        refusal = await self._check(request)
        if refusal is not None:
            await self._refuse(request, refusal, after_seq if redelivered else None)
            return
        effect = domain.delivery(request)
        await self._publisher.publish(effect)
        self._faults.reach(AFTER_DELIVERY)
        await self._follow_up(request, None)
        await self._publisher.publish(domain.delivered(request))
        await self._log.record(request.id, "delivered")
        _log.info(
            "delivered",
            extra={"request_id": request.id, "kind": request.kind.value, "to": request.to},
        )

    async def _finished_earlier(self, request: OutboundRequested, after_seq: int) -> bool:
        """Complete a delivery an earlier attempt stored; True when nothing is left to do."""
        if domain.refusal(request) is not None:
            return False
        if not await self._stored(domain.delivery(request), after_seq):
            return False
        await self._follow_up(request, after_seq)
        record = domain.delivered(request)
        if not await self._stored(record, after_seq):
            await self._publisher.publish(record)
        _log.info("redelivered request was already delivered", extra={"request_id": request.id})
        return True

    async def _check(self, request: OutboundRequested) -> domain.Refusal | None:
        for check in self._checks:
            refusal = await check(request)
            if refusal is not None:
                return refusal
        return None

    async def _follow_up(self, request: OutboundRequested, after_seq: int | None) -> None:
        """Publish what the delivery causes; on a redelivery, only what is not stored yet."""
        for followup in self._followups:
            for event in await followup(request):
                await self._publish_once(event, after_seq)

    async def _publish_once(self, event: Event, after_seq: int | None) -> None:
        if after_seq is None or not await self._stored(event, after_seq):
            await self._publisher.publish(event)

    async def _refuse(
        self, request: OutboundRequested, refusal: domain.Refusal, after_seq: int | None
    ) -> None:
        await self._publish_once(domain.refused(request, refusal), after_seq)
        await self._fail(request, refusal.reason, after_seq)

    async def _fail(self, request: OutboundRequested, reason: str, after_seq: int | None) -> None:
        await self._publish_once(domain.failed(request, reason), after_seq)
        await self._log.record(request.id, "failed")
        _log.info(
            "not delivered",
            extra={"request_id": request.id, "kind": request.kind.value, "to": request.to, "reason": reason},
        )
