"""agent-runner settings."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from animas_core.settings import ServiceSettings


class AgentRunnerSettings(ServiceSettings):
    """Settings of the agent-runner (``ANIMAWORKS_`` and ``AGENT_RUNNER_`` variables)."""

    model_config = SettingsConfigDict(env_prefix="ANIMAWORKS_", extra="ignore")

    llm_timeout_s: float = 600.0
    """Longest wait for one model call; in-progress acks keep the message while it runs."""
    body_inline_limit: int = 16 * 1024
    """LLM bodies larger than this (bytes of JSON) go to the object store by reference."""
