"""A span per model call, with the OpenTelemetry GenAI attributes (model, tokens, finish reason).

The span is a child of the cycle's span, so a chat's trace shows where its time went: priming,
memory reads, and each model turn with what it cost. Attribute names follow the GenAI semantic
conventions, which Grafana and other backends know how to chart.
"""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry import trace
from opentelemetry.trace import SpanKind, TracerProvider
from opentelemetry.util.types import AttributeValue

from animas_agent_runner.ports import (
    ModelCallFailed,
    ModelTarget,
    TextSink,
    TurnModel,
    TurnRequest,
    TurnResult,
)

TRACER_NAME = "animaworks.llm"
OPERATION = "chat"


class TracedTurnModel:
    """Wraps a :class:`TurnModel`: the same turn, inside a ``chat <model>`` CLIENT span."""

    def __init__(self, inner: TurnModel, *, tracer_provider: TracerProvider | None = None) -> None:
        self._inner = inner
        self._tracer = trace.get_tracer(TRACER_NAME, tracer_provider=tracer_provider)

    async def turn(self, target: ModelTarget, request: TurnRequest, on_text: TextSink) -> TurnResult:
        attributes: dict[str, AttributeValue] = {
            "gen_ai.operation.name": OPERATION,
            "gen_ai.request.model": target.model,
            "gen_ai.request.max_tokens": request.max_tokens,
        }
        # Leaving the block with an exception records it and sets the ERROR status (the SDK's
        # default); a failed call also says whether trying again may help, which is what an
        # operator looking at a red span wants to know first.
        with self._tracer.start_as_current_span(
            f"{OPERATION} {target.model}", kind=SpanKind.CLIENT, attributes=attributes
        ) as span:
            try:
                result = await self._inner.turn(target, request, on_text)
            except ModelCallFailed as exc:
                span.set_attributes(
                    {"error.type": type(exc).__name__, "animaworks.llm.transient": exc.transient}
                )
                raise
            span.set_attributes(result_attributes(result))
            return result


def result_attributes(result: TurnResult) -> dict[str, AttributeValue]:
    """What the provider reported: the model that answered, token usage and why it stopped."""
    attributes: dict[str, AttributeValue] = {
        "gen_ai.response.model": result.model,
        "gen_ai.usage.input_tokens": result.prompt_tokens,
        "gen_ai.usage.output_tokens": result.completion_tokens,
    }
    if result.stop_reason:
        attributes["gen_ai.response.finish_reasons"] = (result.stop_reason,)
    return attributes


def traced_models(
    models: Mapping[str, TurnModel], tracer_provider: TracerProvider | None = None
) -> dict[str, TurnModel]:
    """Every model of ``models`` wrapped in :class:`TracedTurnModel`."""
    return {name: TracedTurnModel(model, tracer_provider=tracer_provider) for name, model in models.items()}
