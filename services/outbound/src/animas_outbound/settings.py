"""outbound settings."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from animas_core.settings import ServiceSettings


class OutboundSettings(ServiceSettings):
    """Settings of outbound (``ANIMAWORKS_*``)."""

    model_config = SettingsConfigDict(env_prefix="ANIMAWORKS_", extra="ignore")

    memory_timeout_s: float = 5.0
    """Longest wait for memory-writer to say who exists; no answer retries the request later."""
    notify_attempts: int = Field(default=3, ge=1)
    """Attempts per notification channel before it is given up on and dead-lettered."""
    notify_backoff_s: float = Field(default=2.0, ge=0)
    """Wait before a channel's second attempt; it doubles for each later one."""
    notify_timeout_s: float = Field(default=10.0, gt=0)
    """Longest wait for one channel (HTTP or SMTP) to answer one attempt."""
    reply_attempts: int = Field(default=4, ge=1)
    """Attempts to post an answer to Slack, Chatwork or a callback before it is dead-lettered."""
    reply_backoff_s: float = Field(default=2.0, ge=0)
    """Wait before an answer's second attempt; it doubles for each later one."""
    reply_timeout_s: float = Field(default=10.0, gt=0)
    """Longest wait for the platform to answer one attempt."""
