"""agent-runner settings."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from animas_core.settings import ServiceSettings

EFFECT_RETRY_BACKOFF_S = (0.5, 1.0, 2.0, 4.0, 8.0)
"""Waits before each retry of an unconfirmed tool effect: about 15 s in all, longer than a
supervised service takes to restart (toolbox/effects.py)."""


class AgentRunnerSettings(ServiceSettings):
    """Settings of the agent-runner (``ANIMAWORKS_`` and ``AGENT_RUNNER_`` variables)."""

    model_config = SettingsConfigDict(env_prefix="ANIMAWORKS_", extra="ignore")

    llm_timeout_s: float = 600.0
    """Longest wait for one model call; in-progress acks keep the message while it runs."""
    max_concurrent_llm_calls: int = Field(default=16, ge=1)
    """Model calls this replica makes at once, across all its animas; more wait their turn."""
    body_inline_limit: int = 16 * 1024
    """LLM bodies larger than this (bytes of JSON) go to the object store by reference."""
    workspace: Path | None = None
    """Where the workspace file and command tools work (``ANIMAWORKS_WORKSPACE``; a shared volume in
    Kubernetes). Unset: those tools are not offered at all."""
    hidden_paths: tuple[Path, ...] = ()
    """Paths no workspace tool may see, whatever permissions.md grants (the AnimaWorks home's
    anima directories, config and broker data); JSON list in ``ANIMAWORKS_HIDDEN_PATHS``."""
    memory_op_timeout_s: float = 10.0
    """How long a memory tool waits for memory-writer to confirm a change."""
    effect_retry_backoff_s: tuple[float, ...] = Field(default=EFFECT_RETRY_BACKOFF_S)
    """Waits between the attempts of a tool call whose effect was not stored or confirmed (a
    service restarting); when they are spent the cycle fails and is redelivered. JSON list in
    ``ANIMAWORKS_EFFECT_RETRY_BACKOFF_S``; ``[]`` fails the cycle at the first miss."""
    background_sweep_after_s: float = Field(default=30.0, gt=0)
    """How soon after start a replica looks for background calls a killed replica left running
    (longer than a health record outlives its process, ``SERVICES_TTL_S``)."""
    background_sweep_every_s: float = Field(default=300.0, gt=0)
    """How often it looks again (a replica may die while others run)."""
    local_model_url: str | None = None
    """The bundled local model's OpenAI-compatible endpoint (``…/v1``): animas without a configured
    model use it (assisted mode). ``anima up`` sets it; unset, they get configuration guidance."""
    command_path: str = "/usr/local/bin:/usr/bin:/bin"
    """PATH of commands run by the run_command tool (its only inherited variable besides HOME/LANG)."""
