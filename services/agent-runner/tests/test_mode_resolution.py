"""Which execution mode a cycle runs in: from the model name, overridable per anima (issue #5, point 1)."""

from __future__ import annotations

from typing import Any

import pytest

from animas_agent_runner import domain
from animas_core.config import ConfigError, parse_config


def _plan(config: dict[str, Any], status: dict[str, Any] | None = None, anima: str = "tanaka") -> domain.Plan:
    base = {"credentials": {"key": {"api_key": "k"}}, **config}
    plan = domain.plan_cycle(parse_config(base), anima, status)
    assert isinstance(plan, domain.Plan), plan
    return plan


@pytest.mark.parametrize(
    ("model", "mode"),
    [
        ("claude-sonnet-4-5", "anthropic"),
        ("claude-3-haiku-20240307", "anthropic"),
        ("anthropic/claude-sonnet-4-5", "anthropic"),
        ("openai/gpt-4o-mini", "litellm"),
        ("gemini/gemini-2.5-flash", "litellm"),
        ("ollama/llama3.2", "assisted"),
        ("ollama_chat/qwen3", "assisted"),
        ("mistral/mistral-large", "litellm"),
    ],
)
def test_the_model_name_chooses_the_mode(model: str, mode: str) -> None:
    assert _plan({"anima_defaults": {"model": model, "credential": "key"}}).mode == mode


def test_configured_rules_change_the_default_for_a_family() -> None:
    config = {
        "model_modes": {"ollama/qwen3*": "litellm", "openai/my-local-*": "B"},
        "anima_defaults": {"model": "ollama/qwen3:32b", "credential": "key"},
    }
    assert _plan(config).mode == "litellm"
    config["anima_defaults"] = {"model": "openai/my-local-7b", "credential": "key"}
    assert _plan(config).mode == "assisted"


def test_the_anima_override_wins_over_every_rule() -> None:
    config: dict[str, Any] = {
        "model_modes": {"openai/*": "litellm"},
        "anima_defaults": {"model": "openai/gpt-4o-mini", "credential": "key"},
    }
    assert _plan(config, {"execution_mode": "assisted"}).mode == "assisted"  # status.json
    assert _plan(config, {"execution_mode": "A1"}).mode == "agent_sdk"  # the seed's alias
    config["animas"] = {"tanaka": {"execution_mode": "B"}}
    assert _plan(config, {"execution_mode": "litellm"}).mode == "assisted"  # config.json has the last word
    assert _plan(config, anima="suzuki").mode == "litellm"  # other animas keep the rule


def test_the_fallback_model_shares_the_credential_and_a_bad_mode_is_reported() -> None:
    plan = _plan({"anima_defaults": {"model": "openai/a", "fallback_model": "openai/b", "credential": "key"}})
    assert plan.fallback is not None and (plan.fallback.model, plan.fallback.api_key) == ("openai/b", "k")
    assert plan.settings.max_turns == 20
    with pytest.raises(ConfigError, match="unknown execution mode 'turbo'"):
        _plan({"anima_defaults": {"model": "openai/a", "credential": "key"}}, {"execution_mode": "turbo"})
