"""The handler of ``consolidation.due``: decode, check, and hand the run to its kind.

Weekly consolidation is not built yet: its due events are answered with a
``consolidation.finished`` that says so, never left waiting or dropped silently.
"""

from __future__ import annotations

from animas_consolidator.daily import DailyRun
from animas_consolidator.domain.records import RunRef, finished
from animas_contracts import (
    ConsolidationDue,
    ConsolidationKind,
    ConsolidationStatus,
    ContractError,
    validate_anima_name,
)
from animas_contracts.names import InvalidAnimaName
from animas_core.broker import EventSink
from animas_core.errors import PoisonMessage
from animas_core.policy import Delivery
from animas_core.provenance import decode_delivered

WEEKLY_NOT_BUILT = "weekly consolidation is not built yet (issue #13 item 3); nothing was changed"


class DueHandler:
    """Runs the consolidation a ``consolidation.due`` event asks for."""

    def __init__(self, daily: DailyRun, publisher: EventSink) -> None:
        self._daily = daily
        self._publisher = publisher

    async def __call__(self, data: bytes, delivery: Delivery) -> None:
        """Handle one delivery of a due event."""
        event = decode_delivered(delivery.subject, data)
        try:
            validate_anima_name(event.anima)
        except InvalidAnimaName as exc:
            raise PoisonMessage(str(exc)) from None
        if not isinstance(event, ConsolidationDue):
            raise ContractError(f"expected consolidation.due, got {event.event_type}")
        if event.kind is ConsolidationKind.WEEKLY:
            ref = RunRef(event, event.date)
            await self._publisher.publish(
                finished(ref, ConsolidationStatus.NOT_BUILT, error=WEEKLY_NOT_BUILT)
            )
            return
        await self._daily.run(event, delivery)
