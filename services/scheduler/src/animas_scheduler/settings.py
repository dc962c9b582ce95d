"""scheduler settings."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import SettingsConfigDict

from animas_core.settings import ServiceSettings


class SchedulerSettings(ServiceSettings):
    """Settings of the scheduler (``ANIMAWORKS_*``); how it fires is in config.json ``scheduler``."""

    model_config = SettingsConfigDict(env_prefix="ANIMAWORKS_", extra="ignore")

    memory_timeout_s: float = 5.0
    """Longest wait for memory-writer; no answer skips the tick and the occurrences wait."""
    scheduler_paused: bool = False
    """``ANIMAWORKS_SCHEDULER_PAUSED=true``: fire nothing (autonomy paused for maintenance, or in a
    test that must not see a real heartbeat); what passes meanwhile is a missed fire on resume."""
    scheduler_clock_file: Path | None = None
    """Tests only: a JSON file ``{"now": "<ISO 8601>"}`` read every tick instead of the system
    clock, so a simulated day passes in seconds and replicas share one controllable time."""
    scheduler_clock_offset_s: float = 0.0
    """Tests only: added to the clock (-600: this replica's clock is ten minutes behind)."""
