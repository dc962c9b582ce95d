"""The LLM span: one per model call, with the GenAI attributes, red when the call failed."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from animas_agent_runner.adapters.traced_model import TracedTurnModel, traced_models
from animas_agent_runner.ports import (
    ModelCallFailed,
    ModelTarget,
    TurnModel,
    TurnRequest,
    TurnResult,
    UserTurn,
)

TARGET = ModelTarget(model="openai/scripted", api_base=None, api_key="secret-key", max_tokens=512)
REQUEST = TurnRequest(system="be brief", conversation=(UserTurn("hi"),), max_tokens=512)


class OneAnswer:
    def __init__(self, outcome: TurnResult | ModelCallFailed) -> None:
        self.outcome = outcome

    async def turn(self, target: ModelTarget, request: TurnRequest, on_text: object) -> TurnResult:
        if isinstance(self.outcome, ModelCallFailed):
            raise self.outcome
        return self.outcome


def _result(stop_reason: str = "stop") -> TurnResult:
    return TurnResult(
        text="hello",
        tool_calls=(),
        model="scripted-2025",
        prompt_tokens=321,
        completion_tokens=17,
        stop_reason=stop_reason,
        raw_request={},
        raw_response={},
    )


def _traced(inner: TurnModel) -> tuple[TracedTurnModel, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return TracedTurnModel(inner, tracer_provider=provider), exporter


async def _ignore(text: str) -> None:
    return None


def _only(exporter: InMemorySpanExporter) -> ReadableSpan:
    (span,) = exporter.get_finished_spans()
    return span


async def test_a_call_is_a_client_span_with_model_and_token_counts() -> None:
    model, exporter = _traced(OneAnswer(_result()))

    result = await model.turn(TARGET, REQUEST, _ignore)

    assert result == _result()
    span = _only(exporter)
    assert (span.name, span.kind) == ("chat openai/scripted", SpanKind.CLIENT)
    assert dict(span.attributes or {}) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "openai/scripted",
        "gen_ai.request.max_tokens": 512,
        "gen_ai.response.model": "scripted-2025",
        "gen_ai.usage.input_tokens": 321,
        "gen_ai.usage.output_tokens": 17,
        "gen_ai.response.finish_reasons": ("stop",),
    }
    assert span.status.status_code is StatusCode.UNSET


async def test_an_unknown_finish_reason_is_left_out() -> None:
    model, exporter = _traced(OneAnswer(_result(stop_reason="")))

    await model.turn(TARGET, REQUEST, _ignore)

    assert "gen_ai.response.finish_reasons" not in (_only(exporter).attributes or {})


async def test_a_failed_call_is_an_error_span_that_says_whether_to_retry() -> None:
    model, exporter = _traced(OneAnswer(ModelCallFailed("rate limited", transient=True)))

    with pytest.raises(ModelCallFailed):
        await model.turn(TARGET, REQUEST, _ignore)

    span = _only(exporter)
    assert span.status.status_code is StatusCode.ERROR
    attributes = span.attributes or {}
    assert (attributes["error.type"], attributes["animaworks.llm.transient"]) == ("ModelCallFailed", True)
    assert [e.name for e in span.events] == ["exception"]
    assert "secret-key" not in repr(dict(attributes))


def test_every_model_of_the_set_is_wrapped() -> None:
    inner = OneAnswer(_result())

    wrapped = traced_models({"litellm": inner, "anthropic": inner})

    assert set(wrapped) == {"litellm", "anthropic"}
    assert all(isinstance(m, TracedTurnModel) for m in wrapped.values())
