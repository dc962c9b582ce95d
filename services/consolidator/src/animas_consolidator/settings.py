"""consolidator settings."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from animas_core.settings import ServiceSettings


class ConsolidatorSettings(ServiceSettings):
    """Settings of the consolidator (``ANIMAWORKS_`` variables)."""

    model_config = SettingsConfigDict(env_prefix="ANIMAWORKS_", extra="ignore")

    llm_timeout_s: float = Field(default=300.0, gt=0)
    """Longest wait for the decision call; past it the run falls back to the deterministic decisions."""
    memory_op_timeout_s: float = Field(default=30.0, gt=0)
    """How long a decision waits for memory-writer's answer before the run is retried."""
