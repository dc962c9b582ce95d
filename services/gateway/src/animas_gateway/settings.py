"""Gateway settings."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from animas_core.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    """Settings of the gateway (``ANIMAWORKS_GATEWAY_*`` for its own, ``ANIMAWORKS_*`` shared).

    What a request may carry and who may send it is config.json's ``api`` section (re-read when
    the file changes), not these.
    """

    model_config = SettingsConfigDict(env_prefix="ANIMAWORKS_", extra="ignore")

    gateway_host: str = "127.0.0.1"
    gateway_port: int = 18500
    """0 picks a free port; the chosen URL is reported in the service's health record."""
    chat_timeout_s: float = 120.0
    """How long a chat request waits for the reply before answering 202 with the message id."""
    sse_keepalive_s: float = 15.0
    """How long a streamed chat may stay silent before the gateway sends a keep-alive comment."""
