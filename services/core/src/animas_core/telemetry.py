"""OpenTelemetry set-up for a service process.

Trace context travels in NATS headers (``traceparent``), written and read by FastStream's
telemetry middleware. Spans are exported over OTLP/HTTP when the standard OTel environment
variables ask for it (``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``,
or ``OTEL_TRACES_EXPORTER=otlp``); otherwise spans are created for propagation only. Spans still
waiting in the batch are sent when the process exits (the SDK provider's exit hook), so a service
stopped by SIGTERM loses none (tests/e2e/test_traces_across_processes.py). Request/reply calls,
which FastStream does not see, carry the context through :mod:`animas_core.rpc_tracing`.
"""

from __future__ import annotations

import os

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

_OTLP_ENV = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


def otlp_requested(environ: dict[str, str] | None = None) -> bool:
    """Whether the standard OTel environment variables ask for OTLP export."""
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    return any(env.get(name) for name in _OTLP_ENV) or env.get("OTEL_TRACES_EXPORTER") == "otlp"


def configure_telemetry(service: str, *, processors: list[SpanProcessor] | None = None) -> TracerProvider:
    """Install a tracer provider named after the service and return it.

    Tests pass their own processors (an in-memory exporter); a service process gets an OTLP
    exporter when the environment asks for one.
    """
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: f"animaworks-{service}"}))
    for processor in processors or []:
        provider.add_span_processor(processor)
    if processors is None and otlp_requested():
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return provider
