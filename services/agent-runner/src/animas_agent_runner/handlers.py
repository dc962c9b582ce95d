"""The handler of an anima's partition: decode, guard against repeats, hand each event to its cycle.

Messages, heartbeats and cron tasks arrive on one consumer per partition, so they take turns:
one cycle per anima at a time, whatever woke it.
"""

from __future__ import annotations

import logging

from animas_agent_runner import domain
from animas_agent_runner.cycle.autonomy import Autonomy
from animas_agent_runner.cycle.reports import ReportInbox
from animas_agent_runner.cycle.runner import CycleRunner
from animas_agent_runner.ports import ReplyLedger
from animas_contracts import (
    ContractError,
    CronDue,
    CycleStatus,
    HeartbeatDue,
    MessageKind,
    MessageOrigin,
    MessageReceived,
    validate_anima_name,
)
from animas_contracts.names import InvalidAnimaName
from animas_core.broker import EventSink
from animas_core.errors import PoisonMessage
from animas_core.policy import Delivery
from animas_core.provenance import decode_delivered

_log = logging.getLogger(__name__)


class MessageHandler:
    """Answers ``message.received`` (one cycle, one reply per message), ``heartbeat.due`` and ``cron.due``."""

    def __init__(
        self,
        *,
        publisher: EventSink,
        ledger: ReplyLedger,
        runner: CycleRunner,
        autonomy: Autonomy | None = None,
        reports: ReportInbox | None = None,
    ) -> None:
        self._publisher = publisher
        self._ledger = ledger
        self._runner = runner
        self._autonomy = autonomy
        self._reports = reports

    async def __call__(self, data: bytes, delivery: Delivery) -> None:
        """Handle one delivery of an event of the anima's partition."""
        event = decode_delivered(delivery.subject, data)
        try:
            validate_anima_name(event.anima)
        except InvalidAnimaName as exc:
            raise PoisonMessage(str(exc)) from None
        if isinstance(event, HeartbeatDue | CronDue):
            if self._autonomy is None:
                raise ContractError(f"{event.event_type} needs the autonomy cycles, not wired here")
            if isinstance(event, HeartbeatDue):
                await self._autonomy.heartbeat(event, delivery)
            else:
                await self._autonomy.cron(event, delivery)
            return
        if not isinstance(event, MessageReceived):
            raise ContractError(
                f"expected message.received, heartbeat.due or cron.due, got {event.event_type}"
            )
        if event.kind is MessageKind.ACK:
            # An acknowledgement is in the log and the anima's recent activity; it wakes no one.
            _log.info("acknowledgement received", extra={"message_id": event.id, "sender": event.sender})
            return
        if event.kind is MessageKind.TASK and event.origin is MessageOrigin.ANIMA and event.task is not None:
            # A delegated task runs on the task lane (cycle/tasks.py), from its task.assigned.
            return
        if delivery.deliveries > 1 and await self._already_answered(event, delivery):
            # The reply is stored; only the closing event may be missing. Its id is derived,
            # so publishing it again is dropped if it was there.
            await self._publisher.publish(domain.cycle_finished(event, CycleStatus.OK, 0.0))
            _log.info("redelivered message was already answered", extra={"message_id": event.id})
            return
        # A report moves the delegated task; one a waiting delegate_task read wakes no one.
        reports = self._reports
        if event.kind is MessageKind.REPORT and reports and not await reports.settle(event, delivery):
            return
        autonomy = self._autonomy
        # Another anima's message outside active hours waits in the inbox for the next heartbeat;
        # a person is answered whenever they write.
        if event.origin is MessageOrigin.ANIMA and autonomy and await autonomy.resting(event.anima, event.ts):
            await autonomy.defer(event)
            return
        await self._runner.answer(event, delivery)

    async def _already_answered(self, event: MessageReceived, delivery: Delivery) -> bool:
        return await self._ledger.reply_exists(
            event.anima, domain.reply_id_for(event.id), after_seq=delivery.stream_seq or 0
        )
