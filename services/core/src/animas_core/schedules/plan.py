"""Every schedule of one anima and its next fire times: the scheduler and ``anima schedule`` share it.

An anima has a heartbeat (heartbeat.md), cron tasks (cron.md) and consolidation (config.json
``consolidation``). :func:`anima_schedules` reads them into :class:`NamedSchedule` entries, one
per key; :func:`next_fires` and :func:`fires_between` give the instants each one fires at, with
active hours and ``enabled`` applied. An entry with an ``error`` never fires: it is reported.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from animas_core.config_model import ConsolidationConfig
from animas_core.schedules.cron_fields import WEEKDAY_NAMES
from animas_core.schedules.documents import parse_cron, parse_heartbeat
from animas_core.schedules.hours import ActiveHours
from animas_core.schedules.notation import parse_schedule
from animas_core.schedules.rule import Schedule

HEARTBEAT: Final = "heartbeat"
CONSOLIDATION_DAILY: Final = "consolidation:daily"
CONSOLIDATION_WEEKLY: Final = "consolidation:weekly"
_HORIZON: Final = timedelta(days=400)
"""How far ahead :func:`next_fires` looks for times inside the active hours."""


def cron_key(title: str) -> str:
    """The key of a cron task (also the ``schedule`` of its occurrence ids)."""
    return f"cron:{title}"


@dataclasses.dataclass(frozen=True)
class NamedSchedule:
    """One schedule of an anima.

    Attributes:
        key: ``heartbeat``, ``cron:<title>``, ``consolidation:daily`` or ``consolidation:weekly``.
        schedule: None when ``error`` is set.
        error: Why it cannot fire (reported, never guessed), else None.
        active_hours: The heartbeat's; fire times outside them are not fire times.
        enabled: False for a cron task with ``enabled: false`` or disabled consolidation.
        file: Where it is written: heartbeat.md, cron.md or config.json.
        section: The heading (or config key) it is written under, as written.
    """

    key: str
    schedule: Schedule | None
    error: str | None = None
    active_hours: ActiveHours | None = None
    enabled: bool = True
    file: str = ""
    section: str = ""


def anima_schedules(
    heartbeat_md: str | None, cron_md: str | None, *, consolidation: ConsolidationConfig | None
) -> list[NamedSchedule]:
    """The schedules of an anima from its files and the consolidation config, heartbeat first.

    A missing heartbeat.md, or one without an ``## Execution Interval``, means no heartbeat. Any
    problem in heartbeat.md stops the heartbeat (an unreadable active-hours line must not turn
    into "always"); a problem in one cron task stops only that task.
    """
    plan: list[NamedSchedule] = []
    if heartbeat_md is not None:
        beat = parse_heartbeat(heartbeat_md)
        if beat.errors:
            plan.append(NamedSchedule(HEARTBEAT, None, "; ".join(beat.errors), file="heartbeat.md"))
        elif beat.interval is not None:
            plan.append(
                NamedSchedule(HEARTBEAT, beat.interval, active_hours=beat.active_hours, file="heartbeat.md")
            )
    if cron_md is not None:
        for task in parse_cron(cron_md).tasks:
            plan.append(
                NamedSchedule(
                    cron_key(task.title),
                    task.schedule,
                    task.error,
                    enabled=task.enabled,
                    file="cron.md",
                    section=task.heading,
                )
            )
    if consolidation is not None:
        weekly = f"every {WEEKDAY_NAMES[consolidation.weekly_day % 7]} {consolidation.weekly_time}"
        for key, text, field in (
            (CONSOLIDATION_DAILY, f"daily {consolidation.daily_time}", "consolidation.daily_time"),
            (CONSOLIDATION_WEEKLY, weekly, "consolidation.weekly_time"),
        ):
            schedule = parse_schedule(text)
            plan.append(
                NamedSchedule(key, schedule, enabled=consolidation.enabled, file="config.json", section=field)
            )
    return plan


def next_fires(named: NamedSchedule, after: datetime, tz: ZoneInfo, count: int) -> list[datetime]:
    """The next ``count`` fire times strictly after ``after`` (UTC, ascending).

    Times outside the active hours are skipped; a disabled or broken entry has none. Fewer than
    ``count`` come back when no more fall within about a year.
    """
    if named.schedule is None or not named.enabled or count <= 0:
        return []
    limit = after.astimezone(UTC) + _HORIZON
    fires: list[datetime] = []
    for instant in named.schedule.rule.occurrences(after, named.schedule.zone or tz):
        if instant > limit:
            break
        if named.active_hours is None or named.active_hours.contains(instant, tz):
            fires.append(instant)
            if len(fires) == count:
                break
    return fires


def fires_between(named: NamedSchedule, start: datetime, end: datetime, tz: ZoneInfo) -> list[datetime]:
    """Fire times in ``(start, end]`` (UTC, ascending), active hours and ``enabled`` applied.

    Raises:
        ScheduleError: More than :data:`~animas_core.schedules.rule.MAX_FIRES` in the window.
    """
    if named.schedule is None or not named.enabled:
        return []
    fires = named.schedule.between(start, end, tz)
    if named.active_hours is None:
        return fires
    hours = named.active_hours
    return [instant for instant in fires if hours.contains(instant, tz)]
