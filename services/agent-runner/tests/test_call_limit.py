"""The shared limit on concurrent model calls."""

from __future__ import annotations

import asyncio

import pytest

from animas_agent_runner.adapters.call_limit import CallLimit
from animas_agent_runner.ports import ModelTarget, TextSink, TurnModel, TurnRequest, TurnResult

TARGET = ModelTarget("openai/scripted", None, None, 64)


class SlowModel:
    """Holds each call until released, counting how many are open at once."""

    def __init__(self) -> None:
        self.open = 0
        self.most_open = 0
        self.release = asyncio.Event()

    async def turn(self, target: ModelTarget, request: TurnRequest, on_text: TextSink) -> TurnResult:
        self.open += 1
        self.most_open = max(self.most_open, self.open)
        try:
            await self.release.wait()
        finally:
            self.open -= 1
        return TurnResult("ok", (), target.model, 1, 1, "stop", {}, {})


async def test_calls_beyond_the_limit_wait_for_a_slot_across_providers() -> None:
    slow = SlowModel()
    limit = CallLimit(2)
    models: dict[str, TurnModel] = limit.wrap({"litellm": slow, "anthropic": slow})
    request = TurnRequest(system="", conversation=())

    async def noop(text: str) -> None:
        return None

    calls = [
        asyncio.create_task(models[name].turn(TARGET, request, noop))
        for name in ("litellm", "anthropic", "litellm", "anthropic", "litellm")
    ]
    while limit.in_flight < 2 or limit.waited < 3:
        await asyncio.sleep(0.01)
    assert slow.open == 2
    slow.release.set()
    results = await asyncio.gather(*calls)
    assert [r.text for r in results] == ["ok"] * 5
    assert slow.most_open == 2 and limit.in_flight == 0


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        CallLimit(0)
