"""Which model a consolidation asks: the anima's own, resolved as agent-runner resolves it.

Defaults < the anima's status.json < config.json's ``animas`` section; the credential gives the
key and endpoint. The bundled tiny local model cannot produce decisions worth applying, so with
it (or with no model at all) the deterministic fallback runs instead, and the run says why.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from animas_core.config import AnimaWorksConfig

LOCAL_SERVER_PLACEHOLDER_KEY = "none"
TINY_MODELS = ("smollm2",)
"""Name fragments of the bundled local model: too small to consolidate (issue #8)."""
MAX_TOKENS = 2_000
"""Room for a day's decisions, whatever the anima's own reply limit is."""


@dataclasses.dataclass(frozen=True)
class ModelTarget:
    """Where the decision call goes. ``api_key`` is never recorded."""

    model: str
    api_base: str | None
    api_key: str | None
    max_tokens: int = MAX_TOKENS


@dataclasses.dataclass(frozen=True)
class NoCapableModel:
    """Why the fallback runs."""

    reason: str


def choose_model(
    config: AnimaWorksConfig, anima: str, status: Mapping[str, Any] | None
) -> ModelTarget | NoCapableModel:
    """The anima's model for consolidation, or why there is none worth asking."""
    settings = config.anima(anima, status)
    if not settings.model:
        return NoCapableModel("no model configured")
    if any(tiny in settings.model.casefold() for tiny in TINY_MODELS):
        return NoCapableModel(f"{settings.model} is the bundled tiny model, too small to consolidate")
    credential = config.credential(settings.credential)
    if settings.credential and credential is None:
        return NoCapableModel(f"credential {settings.credential!r} is not configured")
    api_key = credential.api_key.get_secret_value() if credential and credential.api_key else None
    if api_key is None and credential is not None and credential.base_url:
        # Local OpenAI-compatible servers ignore the key, but the client refuses to send none.
        api_key = LOCAL_SERVER_PLACEHOLDER_KEY
    return ModelTarget(
        model=settings.model,
        api_base=credential.base_url if credential else None,
        api_key=api_key,
        max_tokens=max(settings.max_tokens, MAX_TOKENS),
    )
