"""The metrics table, the recorder over an in-memory reader, and the environment's OTLP switch."""

from __future__ import annotations

import os
from typing import Any

import pytest
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader, NumberDataPoint

from animas_core import instruments
from animas_core.instruments import INSTRUMENTS, Instrument, Kind
from animas_core.metrics import Metrics
from animas_core.telemetry import configure_metrics, otlp_requested


def _points(reader: InMemoryMetricReader) -> dict[str, list[Any]]:
    data = reader.get_metrics_data()
    assert data is not None
    found: dict[str, list[Any]] = {}
    for resource in data.resource_metrics:
        assert resource.resource.attributes["service.name"] == "animaworks-agent-runner"
        # Replicas are told apart (Prometheus' instance label).
        assert str(resource.resource.attributes["service.instance.id"]).endswith(f"-{os.getpid()}")
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                found[metric.name] = list(metric.data.data_points)
    return found


def _by_attributes(points: list[Any]) -> dict[tuple[tuple[str, Any], ...], Any]:
    return {tuple(sorted(p.attributes.items())): p for p in points}


def test_every_recording_arrives_with_the_tables_name_and_attributes() -> None:
    reader = InMemoryMetricReader()
    metrics = Metrics(configure_metrics("agent-runner", readers=[reader]))
    metrics.cycle_finished("alice", "ok")
    metrics.cycle_finished("alice", "ok")
    metrics.cycle_finished("alice", "failed")
    metrics.model_called(
        "alice", "openai/gpt-4o-mini", ok=True, input_tokens=300, output_tokens=20, cost_usd=0.5
    )
    metrics.model_called(
        "alice", "openai/gpt-4o-mini", ok=False, input_tokens=0, output_tokens=0, cost_usd=None
    )
    metrics.primed(0.2, "question", {"C": "timed out", "stats": "unavailable"})
    metrics.fired("alice", "heartbeat", 5.0)
    metrics.dead_lettered("agent-runner-p3")
    metrics.redelivered("agent-runner-p3")
    metrics.lag_sampled("ACTIVITY", "agent-runner-p3", 7)

    points = _points(reader)
    assert set(points) == {i.name for i in INSTRUMENTS}
    cycles = _by_attributes(points[instruments.CYCLES.name])
    assert {k: p.value for k, p in cycles.items()} == {
        (("anima", "alice"), ("outcome", "ok")): 2,
        (("anima", "alice"), ("outcome", "failed")): 1,
    }
    calls = _by_attributes(points[instruments.LLM_CALLS.name])
    model = ("model", "openai/gpt-4o-mini")
    assert {k: p.value for k, p in calls.items()} == {
        (("anima", "alice"), model, ("outcome", "ok")): 1,
        (("anima", "alice"), model, ("outcome", "error")): 1,
    }
    tokens = _by_attributes(points[instruments.LLM_TOKENS.name])
    assert {k: p.value for k, p in tokens.items()} == {
        (("anima", "alice"), ("direction", "input"), model): 300,
        (("anima", "alice"), ("direction", "output"), model): 20,
    }
    (cost,) = points[instruments.LLM_COST.name]
    assert cost.value == 0.5  # the call without a price adds nothing, not a zero
    (priming,) = points[instruments.PRIMING_DURATION.name]
    assert isinstance(priming, HistogramDataPoint)
    assert (priming.count, priming.sum, dict(priming.attributes or {})) == (
        1,
        0.2,
        {"message_type": "question"},
    )
    assert tuple(priming.explicit_bounds) == instruments.PRIMING_DURATION.buckets
    failures = points[instruments.PRIMING_CHANNEL_FAILURES.name]
    assert sorted(p.attributes["channel"] for p in failures) == ["C", "stats"]
    (drift,) = points[instruments.SCHEDULER_DRIFT.name]
    assert (drift.sum, dict(drift.attributes or {})) == (5.0, {"kind": "heartbeat"})
    (lag,) = points[instruments.CONSUMER_LAG.name]
    assert isinstance(lag, NumberDataPoint)
    assert (lag.value, dict(lag.attributes or {})) == (
        7,
        {"stream": "ACTIVITY", "durable": "agent-runner-p3"},
    )


def test_a_recording_with_other_attributes_than_the_table_is_refused() -> None:
    metrics = Metrics(configure_metrics("agent-runner", readers=[InMemoryMetricReader()]))
    with pytest.raises(ValueError, match=r"animaworks\.cycles takes"):
        metrics._add(instruments.CYCLES, 1, anima="alice")


def test_without_a_provider_nothing_is_exported_and_recording_is_harmless() -> None:
    metrics = Metrics()
    assert not metrics.exporting
    metrics.cycle_finished("alice", "ok")


@pytest.mark.parametrize(
    ("spec", "series"),
    [
        (instruments.CYCLES, ("animaworks_cycles_total",)),
        (instruments.LLM_COST, ("animaworks_llm_cost_usd_total",)),
        (instruments.CONSUMER_LAG, ("animaworks_consumer_lag",)),
        (
            instruments.SCHEDULER_DRIFT,
            (
                "animaworks_scheduler_drift_seconds_bucket",
                "animaworks_scheduler_drift_seconds_sum",
                "animaworks_scheduler_drift_seconds_count",
            ),
        ),
        (Instrument("a.b", Kind.GAUGE, "By", "", (), ()), ("a_b_bytes",)),
        (Instrument("a.bytes", Kind.COUNTER, "By", "", (), ()), ("a_bytes_total",)),
    ],
)
def test_prometheus_names_follow_the_collectors_translation(
    spec: Instrument, series: tuple[str, ...]
) -> None:
    assert spec.prometheus_series() == series


def test_names_are_unique_in_otel_and_in_prometheus() -> None:
    assert len({i.name for i in INSTRUMENTS}) == len(INSTRUMENTS)
    assert len({i.prometheus_name() for i in INSTRUMENTS}) == len(INSTRUMENTS)


@pytest.mark.parametrize(
    ("env", "requested"),
    [
        ({}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://c:4318/v1/metrics"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}, False),
        ({"OTEL_METRICS_EXPORTER": "otlp"}, True),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_METRICS_EXPORTER": "none"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"}, False),
    ],
)
def test_metrics_are_exported_by_the_same_variables_as_traces(env: dict[str, str], requested: bool) -> None:
    assert otlp_requested(env, signal="metrics") is requested
