"""The litellm adapter: any provider litellm supports, through one chat-completions call."""

from __future__ import annotations

import os
from typing import Any

# litellm fetches a price list from the internet at import unless told to use its local copy.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import litellm
from litellm.exceptions import (
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    PermissionDeniedError,
    UnprocessableEntityError,
)

from animas_agent_runner.ports import Completion, ModelCallFailed, ModelTarget

litellm.suppress_debug_info = True  # its hints go to stdout, outside our structured logs

# Failures where the same request cannot succeed later: report them to the sender at once.
_PERMANENT: tuple[type[Exception], ...] = (
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    PermissionDeniedError,
    UnprocessableEntityError,
)


class LiteLLMChatModel:
    """Calls a model through ``litellm.acompletion``."""

    def __init__(self, timeout_s: float) -> None:
        self._timeout_s = timeout_s

    async def complete(self, target: ModelTarget, messages: list[dict[str, Any]]) -> Completion:
        """Run one completion; litellm's own retries are off because redelivery retries."""
        try:
            response = await litellm.acompletion(
                model=target.model,
                messages=messages,
                api_base=target.api_base,
                api_key=target.api_key,
                max_tokens=target.max_tokens,
                timeout=self._timeout_s,
                num_retries=0,
            )
        except _PERMANENT as exc:
            raise ModelCallFailed(_short(exc), transient=False) from exc
        except Exception as exc:
            raise ModelCallFailed(_short(exc), transient=True) from exc
        raw: dict[str, Any] = response.model_dump(mode="json")
        choice = raw["choices"][0]
        usage = raw.get("usage") or {}
        return Completion(
            text=choice["message"].get("content") or "",
            model=raw.get("model") or target.model,
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            raw=raw,
        )


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"{type(exc).__name__}: {text[:500]}"
