"""memory-writer settings."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from animas_core.settings import ServiceSettings


class MemoryWriterSettings(ServiceSettings):
    """Settings of memory-writer (``ANIMAWORKS_*``)."""

    model_config = SettingsConfigDict(env_prefix="ANIMAWORKS_", extra="ignore")

    replay_batch: int = 500
    """Events fetched per round trip while rebuilding a projection."""
    watch_interval_s: float = 2.0
    """Seconds between scans for hand edits; 0 turns the watcher off (``anima sync`` still works)."""
