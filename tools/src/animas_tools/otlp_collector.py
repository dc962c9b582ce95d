"""A small OTLP/HTTP receiver: where the services' spans and metrics go when no real collector runs.

Tests point ``OTEL_EXPORTER_OTLP_ENDPOINT`` at :attr:`OtlpCollector.endpoint` and assert on
:attr:`OtlpCollector.spans` and :attr:`OtlpCollector.points`; a developer can run
``python -m animas_tools.otlp_collector`` and watch one line per span arrive while clicking through
the system. It accepts what the OpenTelemetry SDK's HTTP exporters send (``POST /v1/traces`` and
``POST /v1/metrics``, protobuf, optionally gzip); for dashboards use a real collector, Tempo,
Prometheus and Grafana instead (infra/observability).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gzip
import logging
import threading
import time
import zlib
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from animas_tools.http_thread import ServedInThread
from animas_tools.otlp_metrics import CollectedPoint, decode_metrics
from animas_tools.otlp_values import attributes_of

log = logging.getLogger("animas_tools.otlp_collector")

TRACES_PATH = "/v1/traces"
METRICS_PATH = "/v1/metrics"
PROTOBUF = "application/x-protobuf"


@dataclasses.dataclass(frozen=True)
class CollectedSpan:
    """One received span, flattened: ids in hex, attributes as Python values."""

    service: str
    """The resource's ``service.name`` (``animaworks-gateway``…)."""
    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    kind: str
    """``SERVER``, ``CLIENT``, ``PRODUCER``, ``CONSUMER``, ``INTERNAL`` (or ``UNSPECIFIED``)."""
    start_ns: int
    end_ns: int
    attributes: dict[str, Any]
    status: str
    """``OK``, ``ERROR`` or ``UNSET``."""
    status_message: str = ""


def decode_spans(body: bytes) -> list[CollectedSpan]:
    """Every span of one ``ExportTraceServiceRequest``; ``ValueError`` when ``body`` is not one."""
    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except Exception as exc:  # protobuf's DecodeError, from a package mypy has no types for
        raise ValueError(f"not an OTLP trace export: {exc}") from exc
    spans: list[CollectedSpan] = []
    for resource_spans in request.resource_spans:
        resource = attributes_of(resource_spans.resource.attributes)
        service = str(resource.get("service.name", "unknown_service"))
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans.append(
                    CollectedSpan(
                        service=service,
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_span_id=span.parent_span_id.hex() or None,
                        name=span.name,
                        kind=Span.SpanKind.Name(span.kind).removeprefix("SPAN_KIND_"),
                        start_ns=span.start_time_unix_nano,
                        end_ns=span.end_time_unix_nano,
                        attributes=attributes_of(span.attributes),
                        status=Status.StatusCode.Name(span.status.code).removeprefix("STATUS_CODE_"),
                        status_message=span.status.message,
                    )
                )
    return spans


class OtlpCollector(ServedInThread):
    """Receives OTLP/HTTP trace and metric exports on a loopback port and keeps them in memory."""

    thread_name = "otlp-collector"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self._cond = threading.Condition()
        self._spans: list[CollectedSpan] = []
        self._points: list[CollectedPoint] = []
        self._listeners: list[Callable[[CollectedSpan], None]] = []

    def _make_server(self, address: tuple[str, int]) -> ThreadingHTTPServer:
        return _Server(address, self)

    @property
    def endpoint(self) -> str:
        """The value for ``OTEL_EXPORTER_OTLP_ENDPOINT`` (the exporter appends ``/v1/traces``)."""
        return self.url

    @property
    def spans(self) -> list[CollectedSpan]:
        """Every span received so far, in arrival order."""
        with self._cond:
            return list(self._spans)

    @property
    def points(self) -> list[CollectedPoint]:
        """Every metric data point received so far, in arrival order."""
        with self._cond:
            return list(self._points)

    def wait_for_points(self, condition: Callable[[list[CollectedPoint]], bool], timeout_s: float) -> bool:
        """Wait until ``condition(points)`` holds; False when ``timeout_s`` passed first."""
        return self._wait(lambda: condition(list(self._points)), timeout_s)

    def add_points(self, points: list[CollectedPoint]) -> None:
        """Keep ``points`` as if they had been exported here."""
        with self._cond:
            self._points.extend(points)
            self._cond.notify_all()

    def on_span(self, listener: Callable[[CollectedSpan], None]) -> None:
        """Call ``listener`` (on the server's thread) for every span that arrives from now on."""
        with self._cond:
            self._listeners.append(listener)

    def wait_for(self, condition: Callable[[list[CollectedSpan]], bool], timeout_s: float) -> bool:
        """Wait until ``condition(spans)`` holds; False when ``timeout_s`` passed first."""
        return self._wait(lambda: condition(list(self._spans)), timeout_s)

    def _wait(self, holds: Callable[[], bool], timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while not holds():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def add(self, spans: list[CollectedSpan]) -> None:
        """Keep ``spans`` as if they had been exported here (the HTTP handler's way in)."""
        with self._cond:
            self._spans.extend(spans)
            listeners = list(self._listeners)
            self._cond.notify_all()
        for span in spans:
            for listener in listeners:
                listener(span)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], collector: OtlpCollector) -> None:
        super().__init__(address, _Handler)
        self.collector = collector


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        # An exporter posts every few hundred milliseconds; the access log would drown the spans.
        log.debug("%s " + format, self.address_string(), *args)

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0]
        if path not in (TRACES_PATH, METRICS_PATH):
            self._answer(404, b"only /v1/traces and /v1/metrics are served", "text/plain")
            return
        if self.headers.get("Content-Type", "").split(";", 1)[0].strip() != PROTOBUF:
            self._answer(415, b"only OTLP protobuf is accepted", "text/plain")
            return
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        try:
            if self.headers.get("Content-Encoding", "").lower() == "gzip":
                body = gzip.decompress(body)
            if path == METRICS_PATH:
                self.server.collector.add_points(decode_metrics(body))
                response = ExportMetricsServiceResponse().SerializeToString()
            else:
                self.server.collector.add(decode_spans(body))
                response = ExportTraceServiceResponse().SerializeToString()
        except (ValueError, OSError, EOFError, zlib.error) as exc:
            self._answer(400, str(exc).encode(), "text/plain")
            return
        self._answer(200, response, PROTOBUF)

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def describe(span: CollectedSpan) -> str:
    """One line per span: when, which trace, who, what, how long."""
    duration_ms = (span.end_ns - span.start_ns) / 1e6
    tokens = (
        span.attributes.get("gen_ai.usage.input_tokens"),
        span.attributes.get("gen_ai.usage.output_tokens"),
    )
    usage = f" tokens={tokens[0]}/{tokens[1]}" if tokens != (None, None) else ""
    error = f" ERROR {span.status_message}" if span.status == "ERROR" else ""
    return (
        f"{span.trace_id[:8]} {span.service:<26} {span.kind:<8} {span.name} {duration_ms:.1f}ms{usage}{error}"
    )


def main(argv: list[str] | None = None) -> None:
    """Run a collector in the foreground and print each span as it arrives."""
    parser = argparse.ArgumentParser(prog="python -m animas_tools.otlp_collector", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4318, help="4318 is OTLP/HTTP's usual port")
    args = parser.parse_args(argv)
    collector = OtlpCollector(args.host, args.port)
    collector.on_span(lambda span: print(describe(span), flush=True))
    with collector:
        print(f"OTEL_EXPORTER_OTLP_ENDPOINT={collector.endpoint}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
