"""An anima's time zone: the one rule the scheduler, agent-runner and ``anima schedule`` share."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from animas_core.config import AnimaWorksConfig, ConfigError
from animas_core.schedules.zones import ScheduleError, zone_for

_UTC = ZoneInfo("UTC")


def anima_zone(name: str, status: Mapping[str, Any], config: AnimaWorksConfig) -> tuple[ZoneInfo, str | None]:
    """The anima's zone and, when its status.json names one that is not understood, why.

    The zone is the merged ``timezone`` (config ``anima_defaults`` < status.json < config
    ``animas``), else ``system.timezone``. status.json may also use the abbreviations schedules
    accept (``JST``). An unreadable zone falls back to ``system.timezone``, and the reason is
    returned so the caller can report it.
    """
    written = status.get("timezone")
    try:
        merged = config.anima(name, status).timezone
    except ConfigError:
        merged = None  # a field config cannot read; the zone may still be one schedules accept
    problem = None
    if isinstance(written, str) and written and merged is None:
        try:
            return zone_for(written), None
        except ScheduleError as exc:
            problem = str(exc)
    try:
        return zone_for(merged or config.system.timezone), problem
    except ScheduleError as exc:
        return _UTC, str(exc)
