"""Firing a schedule by hand: what ``anima trigger`` and ``POST /api/animas/{name}/trigger`` share.

Both make the very same event, and read the anima's zone from its status.json the same way.

Pure: the caller reads the files (through memory-writer) and passes the clock's now.
"""

from __future__ import annotations

import enum
import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from animas_contracts import CronDue, HeartbeatDue, ScheduledBy, uuid7
from animas_core.config import AnimaWorksConfig, ConfigError
from animas_core.schedules.anima_zone import anima_zone
from animas_core.schedules.documents import CronTask, parse_cron


class TriggerKind(enum.StrEnum):
    """What a manual trigger fires."""

    HEARTBEAT = "heartbeat"
    CRON = "cron"


class TriggerRefused(ValueError):
    """A manual trigger that cannot fire as asked (no such task, a task that cannot run)."""


def status_zone(config: AnimaWorksConfig, name: str, status_json: str | None) -> ZoneInfo:
    """The anima's zone: its own ``timezone`` (status.json or config.json), else ``system.timezone``.

    Raises:
        ConfigError: status.json is not a JSON object or has a wrong value.
    """
    try:
        status = json.loads(status_json) if status_json else {}
    except json.JSONDecodeError as exc:
        raise ConfigError(f"animas/{name}/status.json: not valid JSON ({exc.msg})") from None
    if not isinstance(status, dict):
        raise ConfigError(f"animas/{name}/status.json: the top level must be a JSON object")
    zone, problem = anima_zone(name, status, config)
    if problem is not None:
        raise ConfigError(f"animas/{name}/status.json timezone: {problem}")
    return zone


def cron_task(name: str, cron_md: str | None, title: str) -> CronTask:
    """The task of ``cron_md`` a manual trigger of ``title`` fires (it may be disabled).

    Raises:
        TriggerRefused: No such task, or one agent-runner would refuse as written.
    """
    spec = parse_cron(cron_md or "")
    found = spec.task(title)
    if found is None:
        known = ", ".join(repr(t.title) for t in spec.tasks) or "none"
        raise TriggerRefused(f"{name}'s cron.md has no task {title!r} (tasks: {known})")
    if found.error is not None:
        # agent-runner refuses a task that cannot run as written: say so now instead.
        raise TriggerRefused(f'cron.md "{found.heading}": {found.error}')
    return found


def due_event(
    anima: str, kind: TriggerKind, task: str | None, now: datetime, *, producer: str = "cli"
) -> HeartbeatDue | CronDue:
    """The event a manual trigger publishes (``scheduled_by=manual``, fired now)."""
    event_id, fire_at, by = uuid7(), now.astimezone(UTC), ScheduledBy.MANUAL
    if kind is TriggerKind.HEARTBEAT:
        return HeartbeatDue(
            id=event_id,
            anima=anima,
            correlation_id=event_id,
            producer=producer,
            fire_at=fire_at,
            scheduled_by=by,
        )
    if task is None:
        raise TriggerRefused("a cron trigger names its task")
    return CronDue(
        id=event_id,
        anima=anima,
        correlation_id=event_id,
        producer=producer,
        task=task,
        fire_at=fire_at,
        scheduled_by=by,
    )
