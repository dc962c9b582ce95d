"""One limit on concurrent model calls, shared by every cycle of this replica.

Many animas think at once (one cycle per anima, animas in parallel); what they may not do is
open more model calls at once than the provider accounts or a local model server can take.
A call waits for a slot; the wait is part of the call's latency in ``llm.called``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping

from animas_agent_runner.ports import ModelTarget, TextSink, TurnModel, TurnRequest, TurnResult


class CallLimit:
    """A semaphore over model calls, with a count of how many waited (for health reports)."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("the limit on concurrent model calls must be at least 1")
        self.limit = limit
        self._slots = asyncio.Semaphore(limit)
        self.in_flight = 0
        self.waited = 0

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one of the slots for the length of a call."""
        if self.in_flight >= self.limit:
            self.waited += 1
        async with self._slots:
            self.in_flight += 1
            try:
                yield
            finally:
                self.in_flight -= 1

    def wrap(self, models: Mapping[str, TurnModel]) -> dict[str, TurnModel]:
        """Every client behind this one limit (calls to any provider share it)."""
        return {name: LimitedTurnModel(model, self) for name, model in models.items()}


class LimitedTurnModel:
    """A :class:`TurnModel` whose calls take a slot of a shared :class:`CallLimit`."""

    def __init__(self, inner: TurnModel, limit: CallLimit) -> None:
        self._inner = inner
        self._limit = limit

    async def turn(self, target: ModelTarget, request: TurnRequest, on_text: TextSink) -> TurnResult:
        async with self._limit.slot():
            return await self._inner.turn(target, request, on_text)
