"""outbound settings."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from animas_core.settings import ServiceSettings


class OutboundSettings(ServiceSettings):
    """Settings of outbound (``ANIMAWORKS_*``)."""

    model_config = SettingsConfigDict(env_prefix="ANIMAWORKS_", extra="ignore")

    memory_timeout_s: float = 5.0
    """Longest wait for memory-writer to say who exists; no answer retries the request later."""
