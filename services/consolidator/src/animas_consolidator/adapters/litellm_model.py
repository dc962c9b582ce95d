"""The decision call through litellm: any provider it supports, one non-streamed completion.

litellm's own retries are off: a failed call makes the run fall back to the deterministic
decisions at once (the run is not worth holding a day's consolidation for).
"""

from __future__ import annotations

import asyncio
import functools
import gc
import os
from types import ModuleType
from typing import Any

from animas_consolidator.domain.model_choice import ModelTarget
from animas_consolidator.ports import ModelAnswer, ModelCallFailed
from animas_contracts import TokenUsage


@functools.cache
def _litellm() -> ModuleType:
    """litellm, imported on the first decision call rather than at start.

    Importing it costs ~3 s of CPU and its objects ~1.5 s more when the process exits; most
    starts of consolidator (every ``anima up``, every e2e test's system) never make a call.
    """
    # litellm fetches a price list from the internet at import unless told to use its local copy.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True  # its hints go to stdout, outside our structured logs
    # Its objects live as long as the process: kept out of the collector's walks, at exit too
    # (as animas_core.runtime does for what start-up loaded; tearing litellm down took ~1.5 s).
    gc.freeze()
    return litellm


class LiteLLMDecisionModel:
    """Implements :class:`~animas_consolidator.ports.DecisionModel`."""

    def __init__(self, timeout_s: float) -> None:
        self._timeout_s = timeout_s

    async def ask(self, target: ModelTarget, messages: list[dict[str, str]]) -> ModelAnswer:
        body: dict[str, Any] = {"model": target.model, "messages": messages, "max_tokens": target.max_tokens}
        # In a thread: the import takes seconds, and the event loop keeps acking meanwhile.
        litellm = await asyncio.to_thread(_litellm)
        try:
            response = await litellm.acompletion(
                **body,
                api_base=target.api_base,
                api_key=target.api_key,
                timeout=self._timeout_s,
                num_retries=0,
            )
            choice = response.choices[0]
            text = choice.message.content or ""
        except Exception as exc:
            raise ModelCallFailed(_short(exc)) from exc
        usage = getattr(response, "usage", None)
        prompt = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion = int(getattr(usage, "completion_tokens", 0) or 0)
        model = getattr(response, "model", None) or target.model
        return ModelAnswer(
            text=text,
            model=model,
            raw_request=body,
            raw_response={
                "id": getattr(response, "id", None),
                "model": model,
                "text": text,
                "finish_reason": getattr(choice, "finish_reason", None),
                "usage": {"prompt_tokens": prompt, "completion_tokens": completion},
            },
            usage=TokenUsage(
                prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion
            ),
        )


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"{type(exc).__name__}: {text[:500]}"
