"""Cycles, model calls, tokens and cost counted from the events agent-runner publishes."""

from __future__ import annotations

from typing import Any

import pytest
from nats.js.api import PubAck
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from animas_agent_runner.adapters.usage_metrics import MeteredEvents, litellm_cost
from animas_contracts import Body, CycleFinished, CycleStatus, Event, LlmCalled, TokenUsage
from animas_core import instruments
from animas_core.metrics import Metrics
from animas_core.telemetry import configure_metrics


class StoringSink:
    """Acks like JetStream: a second publish of an id is a duplicate."""

    def __init__(self) -> None:
        self.ids: list[str] = []

    async def publish(self, event: Event) -> Any:
        duplicate = event.id in self.ids
        self.ids.append(event.id)
        return PubAck(stream="ACTIVITY", seq=len(self.ids), duplicate=duplicate or None)


def _call(event_id: str, model: str, *, error: str | None = None) -> LlmCalled:
    return LlmCalled(
        id=event_id,
        anima="alice",
        correlation_id="c1",
        producer="agent-runner",
        cycle_id="cy1",
        ordinal=0,
        model=model,
        request=Body(size=2, digest="sha256:x", inline={}),
        response=None,
        usage=TokenUsage(prompt_tokens=0 if error else 1000, completion_tokens=0 if error else 100),
        error=error,
    )


def _finished(event_id: str, status: CycleStatus) -> CycleFinished:
    return CycleFinished(
        id=event_id,
        anima="alice",
        correlation_id="c1",
        producer="agent-runner",
        cycle_id="cy1",
        status=status,
    )


def _values(reader: InMemoryMetricReader) -> dict[str, dict[tuple[tuple[str, Any], ...], Any]]:
    data = reader.get_metrics_data()
    assert data is not None
    return {
        m.name: {
            tuple(sorted((p.attributes or {}).items())): getattr(p, "value", None) for p in m.data.data_points
        }
        for r in data.resource_metrics
        for s in r.scope_metrics
        for m in s.metrics
    }


async def test_stored_events_are_counted_once_and_duplicates_not_at_all() -> None:
    reader = InMemoryMetricReader()
    metrics = Metrics(configure_metrics("agent-runner", readers=[reader]))
    priced: list[tuple[str, int, int]] = []

    def pricing(model: str, input_tokens: int, output_tokens: int) -> float | None:
        priced.append((model, input_tokens, output_tokens))
        return 0.25

    sink = MeteredEvents(StoringSink(), metrics, pricing)
    for event in (
        _call("e1", "openai/gpt-4o-mini"),
        _call("e1", "openai/gpt-4o-mini"),  # a redelivered cycle's call: dropped by the stream
        _call("e2", "openai/gpt-4o-mini", error="503 from the provider"),
        _finished("f1", CycleStatus.OK),
        _finished("f1", CycleStatus.OK),
        _finished("f2", CycleStatus.FAILED),
    ):
        await sink.publish(event)

    values = _values(reader)
    model = ("model", "openai/gpt-4o-mini")
    assert values[instruments.CYCLES.name] == {
        (("anima", "alice"), ("outcome", "ok")): 1,
        (("anima", "alice"), ("outcome", "failed")): 1,
    }
    assert values[instruments.LLM_CALLS.name] == {
        (("anima", "alice"), model, ("outcome", "ok")): 1,
        (("anima", "alice"), model, ("outcome", "error")): 1,
    }
    assert values[instruments.LLM_TOKENS.name] == {
        (("anima", "alice"), ("direction", "input"), model): 1000,
        (("anima", "alice"), ("direction", "output"), model): 100,
    }
    assert values[instruments.LLM_COST.name] == {(("anima", "alice"), model): 0.25}
    assert priced == [("openai/gpt-4o-mini", 1000, 100)]  # a failed call is not priced


async def test_nothing_is_priced_when_metrics_go_nowhere() -> None:
    def pricing(model: str, input_tokens: int, output_tokens: int) -> float | None:
        raise AssertionError("litellm's table is not consulted without an exporter")

    await MeteredEvents(StoringSink(), Metrics(), pricing).publish(_call("e1", "openai/gpt-4o-mini"))


def test_the_price_comes_from_litellms_bundled_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    entry = litellm.model_cost["gpt-4o-mini"]
    expected = 1000 * entry["input_cost_per_token"] + 100 * entry["output_cost_per_token"]
    assert litellm_cost("openai/gpt-4o-mini", 1000, 100) == pytest.approx(expected)
    assert expected > 0
    assert litellm_cost("openai/no-such-model-anywhere", 1000, 100) is None
