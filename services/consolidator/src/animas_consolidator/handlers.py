"""The handler of ``consolidation.due``: decode, check, and hand the run to its kind (daily or weekly)."""

from __future__ import annotations

from animas_consolidator.daily import DailyRun
from animas_consolidator.weekly import WeeklyRun
from animas_contracts import (
    ConsolidationDue,
    ConsolidationKind,
    ContractError,
    validate_anima_name,
)
from animas_contracts.names import InvalidAnimaName
from animas_core.errors import PoisonMessage
from animas_core.policy import Delivery
from animas_core.provenance import decode_delivered


class DueHandler:
    """Runs the consolidation a ``consolidation.due`` event asks for."""

    def __init__(self, daily: DailyRun, weekly: WeeklyRun) -> None:
        self._daily = daily
        self._weekly = weekly

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
            await self._weekly.run(event, delivery)
            return
        await self._daily.run(event, delivery)
