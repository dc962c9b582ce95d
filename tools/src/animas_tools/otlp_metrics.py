"""Decoding OTLP metric exports (``POST /v1/metrics``) into flat data points for the collector.

The OpenTelemetry SDK's periodic reader exports cumulative values: every export repeats each
series with its running total, so the latest point of a series is its current value.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

from animas_tools.otlp_values import attributes_of


@dataclasses.dataclass(frozen=True)
class CollectedPoint:
    """One data point of one metric, as received."""

    service: str
    """The resource's ``service.name`` (``animaworks-agent-runner``…)."""
    name: str
    kind: str
    """``sum`` (a counter), ``gauge`` or ``histogram``."""
    unit: str
    attributes: dict[str, Any]
    time_ns: int
    value: float = 0.0
    """A sum's or gauge's value; a histogram's sum of recorded values."""
    count: int = 0
    """A histogram's number of recorded values."""
    bounds: tuple[float, ...] = ()
    bucket_counts: tuple[int, ...] = ()

    @property
    def series(self) -> tuple[str, str, tuple[tuple[str, Any], ...]]:
        """Which series the point belongs to: service, metric and attributes."""
        return self.service, self.name, tuple(sorted(self.attributes.items()))


def decode_metrics(body: bytes) -> list[CollectedPoint]:
    """Every data point of one ``ExportMetricsServiceRequest``; ``ValueError`` when it is not one."""
    request = ExportMetricsServiceRequest()
    try:
        request.ParseFromString(body)
    except Exception as exc:  # protobuf's DecodeError, from a package mypy has no types for
        raise ValueError(f"not an OTLP metrics export: {exc}") from exc
    points: list[CollectedPoint] = []
    for resource_metrics in request.resource_metrics:
        resource = attributes_of(resource_metrics.resource.attributes)
        service = str(resource.get("service.name", "unknown_service"))
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                common = {"service": service, "name": metric.name, "unit": metric.unit}
                kind = metric.WhichOneof("data")
                if kind in ("sum", "gauge"):
                    for point in getattr(metric, kind).data_points:
                        number = point.as_double if point.WhichOneof("value") == "as_double" else point.as_int
                        points.append(
                            CollectedPoint(
                                **common,
                                kind=kind,
                                attributes=attributes_of(point.attributes),
                                time_ns=point.time_unix_nano,
                                value=float(number),
                            )
                        )
                elif kind == "histogram":
                    for point in metric.histogram.data_points:
                        points.append(
                            CollectedPoint(
                                **common,
                                kind=kind,
                                attributes=attributes_of(point.attributes),
                                time_ns=point.time_unix_nano,
                                value=point.sum,
                                count=point.count,
                                bounds=tuple(point.explicit_bounds),
                                bucket_counts=tuple(point.bucket_counts),
                            )
                        )
    return points


def latest(
    points: list[CollectedPoint],
) -> dict[tuple[str, str, tuple[tuple[str, Any], ...]], CollectedPoint]:
    """The newest point of each series: its current value, as exports are cumulative."""
    newest: dict[tuple[str, str, tuple[tuple[str, Any], ...]], CollectedPoint] = {}
    for point in points:
        known = newest.get(point.series)
        if known is None or point.time_ns >= known.time_ns:
            newest[point.series] = point
    return newest
