"""OpenTelemetry set-up for a service process.

Trace context travels in NATS headers (``traceparent``), written and read by FastStream's
telemetry middleware. Spans are exported over OTLP/HTTP when the standard OTel environment
variables ask for it (``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``,
or ``OTEL_TRACES_EXPORTER=otlp``); otherwise spans are created for propagation only. Spans still
waiting in the batch are sent when the process exits (the SDK provider's exit hook), so a service
stopped by SIGTERM loses none (tests/e2e/test_traces_across_processes.py). Request/reply calls,
which FastStream does not see, carry the context through :mod:`animas_core.rpc_tracing`.

Metrics (:mod:`animas_core.metrics`) follow the same rules: exported over OTLP/HTTP when
``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`` is set or
``OTEL_METRICS_EXPORTER=otlp``, every ``OTEL_METRIC_EXPORT_INTERVAL`` milliseconds (the SDK's
default, 60 s), and once more when the process exits.
"""

from __future__ import annotations

import os
import socket

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import SERVICE_INSTANCE_ID, SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

_OTLP_ENV = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
_OTLP_METRICS_ENV = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")


def otlp_requested(environ: dict[str, str] | None = None, *, signal: str = "traces") -> bool:
    """Whether the standard OTel environment variables ask for OTLP export of ``signal``.

    ``signal`` is ``traces`` or ``metrics``: each has its own endpoint and exporter variable.
    """
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    names = _OTLP_METRICS_ENV if signal == "metrics" else _OTLP_ENV
    exporter = env.get(f"OTEL_{signal.upper()}_EXPORTER")
    if exporter == "none":
        return False
    return any(env.get(name) for name in names) or exporter == "otlp"


def _resource(service: str) -> Resource:
    # The instance tells replicas apart: Prometheus gets it as the `instance` label, so two
    # agent-runners' counters stay two series instead of overwriting each other.
    instance = f"{socket.gethostname()}-{os.getpid()}"
    return Resource.create({SERVICE_NAME: f"animaworks-{service}", SERVICE_INSTANCE_ID: instance})


def configure_telemetry(service: str, *, processors: list[SpanProcessor] | None = None) -> TracerProvider:
    """Install a tracer provider named after the service and return it.

    Tests pass their own processors (an in-memory exporter); a service process gets an OTLP
    exporter when the environment asks for one.
    """
    provider = TracerProvider(resource=_resource(service))
    for processor in processors or []:
        provider.add_span_processor(processor)
    if processors is None and otlp_requested():
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return provider


def configure_metrics(service: str, *, readers: list[MetricReader] | None = None) -> MeterProvider | None:
    """Install a meter provider named after the service and return it; None when nothing exports.

    Tests pass their own readers (an in-memory reader); a service process gets a periodic OTLP
    exporter when the environment asks for one. The provider's exit hook exports what was
    recorded since the last export, as the tracer provider's does for spans. Only the process's
    own provider becomes the global one (a test's stays its own: the global is set once).
    """
    if readers is not None:
        return MeterProvider(resource=_resource(service), metric_readers=readers)
    if not otlp_requested(signal="metrics"):
        return None
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

    provider = MeterProvider(
        resource=_resource(service), metric_readers=[PeriodicExportingMetricReader(OTLPMetricExporter())]
    )
    metrics.set_meter_provider(provider)
    return provider
