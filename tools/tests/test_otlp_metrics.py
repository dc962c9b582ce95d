"""The in-test collector receives what the OpenTelemetry SDK's OTLP/HTTP metric exporter sends."""

from __future__ import annotations

import httpx
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import SERVICE_NAME, Resource

from animas_tools.otlp_collector import METRICS_PATH, OtlpCollector
from animas_tools.otlp_metrics import latest


def test_counters_histograms_and_gauges_arrive_as_points() -> None:
    with OtlpCollector() as collector:
        exporter = OTLPMetricExporter(endpoint=collector.endpoint + METRICS_PATH)
        # An interval longer than the test: only the flush exports.
        reader = PeriodicExportingMetricReader(exporter, export_interval_millis=600_000)
        provider = MeterProvider(
            resource=Resource.create({SERVICE_NAME: "animaworks-x"}), metric_readers=[reader]
        )
        meter = provider.get_meter("test")
        counter = meter.create_counter("x.calls", unit="{call}")
        histogram = meter.create_histogram(
            "x.duration", unit="s", explicit_bucket_boundaries_advisory=[1.0, 5.0]
        )

        def observe(options: CallbackOptions) -> list[Observation]:
            return [Observation(7, {"durable": "d1"})]

        meter.create_observable_gauge("x.lag", callbacks=[observe])
        try:
            counter.add(2, {"anima": "alice"})
            counter.add(3, {"anima": "alice"})
            histogram.record(2.5)
            assert provider.force_flush(10_000)
        finally:
            provider.shutdown()
        arrived = collector.wait_for_points(lambda points: len({p.name for p in points}) == 3, 10)
        assert arrived, collector.points

    by_name = {point.name: point for point in latest(collector.points).values()}
    calls = by_name["x.calls"]
    assert (calls.service, calls.kind, calls.unit, calls.value, calls.attributes) == (
        "animaworks-x",
        "sum",
        "{call}",
        5.0,
        {"anima": "alice"},
    )
    duration = by_name["x.duration"]
    assert (duration.kind, duration.count, duration.value) == ("histogram", 1, 2.5)
    assert (duration.bounds, duration.bucket_counts) == ((1.0, 5.0), (0, 1, 0))
    lag = by_name["x.lag"]
    assert (lag.kind, lag.value, lag.attributes) == ("gauge", 7.0, {"durable": "d1"})


def test_anything_but_an_otlp_export_is_refused() -> None:
    with OtlpCollector() as collector:
        protobuf = {"Content-Type": "application/x-protobuf"}
        assert httpx.post(collector.endpoint + "/v1/logs", content=b"", headers=protobuf).status_code == 404
        garbage = httpx.post(
            collector.endpoint + METRICS_PATH, content=b"\xff\xff not protobuf", headers=protobuf
        )
        assert garbage.status_code == 400
        assert collector.points == []
