"""The message handler: decode, guard against repeats, and hand the message to its cycle."""

from __future__ import annotations

import logging

from animas_agent_runner import domain
from animas_agent_runner.cycle.runner import CycleRunner
from animas_agent_runner.ports import ReplyLedger
from animas_contracts import (
    ContractError,
    CycleStatus,
    MessageReceived,
    decode_event,
    validate_anima_name,
)
from animas_contracts.names import InvalidAnimaName
from animas_core.broker import EventSink
from animas_core.errors import PoisonMessage
from animas_core.policy import Delivery

_log = logging.getLogger(__name__)


class MessageHandler:
    """Answers ``message.received`` events: one cycle per message, one reply per message."""

    def __init__(self, *, publisher: EventSink, ledger: ReplyLedger, runner: CycleRunner) -> None:
        self._publisher = publisher
        self._ledger = ledger
        self._runner = runner

    async def __call__(self, data: bytes, delivery: Delivery) -> None:
        """Handle one delivery of a ``message.received`` event."""
        event = decode_event(data)
        if not isinstance(event, MessageReceived):
            raise ContractError(f"expected message.received, got {event.event_type}")
        try:
            validate_anima_name(event.anima)
        except InvalidAnimaName as exc:
            raise PoisonMessage(str(exc)) from None
        if delivery.deliveries > 1 and await self._already_answered(event, delivery):
            # The reply is stored; only the closing event may be missing. Its id is derived,
            # so publishing it again is dropped if it was there.
            await self._publisher.publish(domain.cycle_finished(event, CycleStatus.OK, 0.0))
            _log.info("redelivered message was already answered", extra={"message_id": event.id})
            return
        await self._runner.answer(event, delivery)

    async def _already_answered(self, event: MessageReceived, delivery: Delivery) -> bool:
        return await self._ledger.reply_exists(
            event.anima, domain.reply_id_for(event.id), after_seq=delivery.stream_seq or 0
        )
