"""Metrics from what agent-runner records: cycles by outcome, model calls, tokens and their cost.

Every cycle's end (``cycle.finished``) and model call (``llm.called``, with the provider's usage)
is already an event agent-runner publishes; this sink sits in front of the publisher and counts
each one the stream stored. A redelivered cycle publishes the same derived ids again and JetStream
reports those as duplicates, so they are not counted twice. Cost comes from litellm's bundled
price table, read offline, and only when metrics are exported (litellm's import costs seconds).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from animas_agent_runner.adapters.model_info import litellm_module
from animas_contracts import CycleFinished, Event, LlmCalled
from animas_core.broker import EventSink
from animas_core.metrics import Metrics

_log = logging.getLogger(__name__)

Pricing = Callable[[str, int, int], float | None]
"""(model, input tokens, output tokens) → US dollars, or None when the model's price is unknown."""


def litellm_cost(model: str, input_tokens: int, output_tokens: int) -> float | None:
    """The price of one call by litellm's bundled table (``litellm.cost_per_token``)."""
    if not _priced(model):
        return None
    prompt_usd, completion_usd = litellm_module().cost_per_token(
        model=model, prompt_tokens=input_tokens, completion_tokens=output_tokens
    )
    return float(prompt_usd) + float(completion_usd)


@functools.cache
def _priced(model: str) -> bool:
    """Whether the table knows ``model`` (asked once per name: an unknown one raises each time)."""
    try:
        litellm_module().cost_per_token(model=model, prompt_tokens=1, completion_tokens=1)
    except Exception:  # litellm raises plain Exception for a model it has no price for
        _log.info("no price for model %s in litellm's table; its cost is not counted", model)
        return False
    return True


class MeteredEvents:
    """An :class:`EventSink` that counts the cycles and model calls it publishes."""

    def __init__(self, inner: EventSink, metrics: Metrics, pricing: Pricing = litellm_cost) -> None:
        self._inner = inner
        self._metrics = metrics
        self._pricing = pricing

    async def publish(self, event: Event) -> Any:
        ack = await self._inner.publish(event)
        if self._metrics.exporting and not getattr(ack, "duplicate", False):
            self._count(event)
        return ack

    def _count(self, event: Event) -> None:
        if isinstance(event, CycleFinished):
            self._metrics.cycle_finished(event.anima, event.status.value)
        elif isinstance(event, LlmCalled):
            usage = event.usage
            self._metrics.model_called(
                event.anima,
                event.model,
                ok=event.error is None,
                input_tokens=usage.prompt_tokens,
                output_tokens=usage.completion_tokens,
                cost_usd=self._pricing(event.model, usage.prompt_tokens, usage.completion_tokens)
                if event.error is None
                else None,
            )
