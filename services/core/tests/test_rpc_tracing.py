"""Trace context over request/reply: the caller's span is the parent of the responder's."""

from __future__ import annotations

import dataclasses
from typing import cast

import nats.errors
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from animas_core.rpc_tracing import operation, request_headers, server_span, traced_request, traced_responder


@dataclasses.dataclass
class FakeMsg:
    subject: str
    data: bytes
    headers: dict[str, str] | None


class FakeClient:
    """Hands each request straight to one responder, as a NATS server would."""

    def __init__(self, fail: Exception | None = None) -> None:
        self.sent: list[FakeMsg] = []
        self.fail = fail

    async def request(
        self, subject: str, payload: bytes, timeout: float, headers: dict[str, str] | None = None
    ) -> FakeMsg:
        if self.fail is not None:
            raise self.fail
        self.sent.append(FakeMsg(subject, payload, headers))
        return FakeMsg(subject, b"{}", None)


@pytest.fixture
def traced() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def _named(exporter: InMemorySpanExporter, name: str, kind: SpanKind) -> ReadableSpan:
    (span,) = [s for s in exporter.get_finished_spans() if (s.name, s.kind) == (name, kind)]
    return span


def test_the_span_name_leaves_out_the_anima() -> None:
    assert operation("rpc.memory.read.sample") == "rpc.memory.read"
    assert operation("rpc.memory.shared") == "rpc.memory.shared"


async def test_the_responders_span_is_a_child_of_the_callers(
    traced: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = traced
    client = FakeClient()
    served: list[str] = []

    async def respond(msg: Msg) -> None:
        served.append(msg.subject)

    with provider.get_tracer("test").start_as_current_span("cycle"):
        await traced_request(
            cast(Client, client), "rpc.priming.prime.sample", b"{}", timeout_s=1, tracer_provider=provider
        )
    await traced_responder(respond, tracer_provider=provider)(cast(Msg, client.sent[0]))

    cycle = _named(exporter, "cycle", SpanKind.INTERNAL)
    caller = _named(exporter, "rpc.priming.prime", SpanKind.CLIENT)
    answer = _named(exporter, "rpc.priming.prime", SpanKind.SERVER)
    assert served == ["rpc.priming.prime.sample"]
    assert caller.parent is not None and caller.parent.span_id == cycle.context.span_id
    assert answer.parent is not None and answer.parent.span_id == caller.context.span_id
    assert answer.context.trace_id == cycle.context.trace_id
    assert dict(answer.attributes or {}) == {
        "messaging.system": "nats",
        "messaging.destination.name": "rpc.priming.prime.sample",
        "rpc.system": "nats",
        "rpc.service": "priming",
        "rpc.method": "prime",
    }


async def test_a_request_nobody_answers_is_an_error_span_and_still_raises(
    traced: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = traced
    client = FakeClient(fail=nats.errors.NoRespondersError())

    with pytest.raises(nats.errors.NoRespondersError):
        await traced_request(
            cast(Client, client), "rpc.memory.animas", b"{}", timeout_s=1, tracer_provider=provider
        )

    assert _named(exporter, "rpc.memory.animas", SpanKind.CLIENT).status.status_code is StatusCode.ERROR


def test_a_request_without_trace_context_starts_a_trace(
    traced: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = traced

    with server_span("rpc.memory.read", None, tracer_provider=provider):
        pass

    assert _named(exporter, "rpc.memory.read", SpanKind.SERVER).parent is None


def test_request_headers_keep_the_callers_own_headers(
    traced: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, _ = traced
    with provider.get_tracer("test").start_as_current_span("cycle") as span:
        headers = request_headers({"Nats-Msg-Id": "m1"})

    assert headers["Nats-Msg-Id"] == "m1"
    assert f"{span.get_span_context().trace_id:032x}" in headers["traceparent"]
