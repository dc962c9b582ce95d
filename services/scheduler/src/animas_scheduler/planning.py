"""What one anima's files and config say it should fire: pure, read again whenever the files are.

The schedules come from the shared parser (:mod:`animas_core.schedules`), so the scheduler,
agent-runner and ``anima schedule`` agree on every fire time; this module adds the anima's zone
and turns every schedule the parser could not read into a :class:`Rejection`.
"""

from __future__ import annotations

import dataclasses
from zoneinfo import ZoneInfo

from animas_contracts import AnimaSummary
from animas_core.config import AnimaWorksConfig
from animas_core.schedules import NamedSchedule, anima_schedules
from animas_core.schedules.anima_zone import anima_zone
from animas_scheduler.domain import Rejection, digest


@dataclasses.dataclass(frozen=True)
class AnimaPlan:
    """One anima's schedules as the scheduler runs them."""

    name: str
    enabled: bool
    """A disabled anima's occurrences pass unfired (enabling it fires nothing it missed)."""
    zone: ZoneInfo
    schedules: tuple[NamedSchedule, ...]
    """Those that can fire (a schedule was read); disabled ones included, they pass over."""
    rejections: tuple[Rejection, ...]


def anima_plan(
    summary: AnimaSummary, heartbeat_md: str | None, cron_md: str | None, config: AnimaWorksConfig
) -> AnimaPlan:
    """An anima's schedules (heartbeat, cron tasks, consolidation), zone and rejected schedules."""
    zone, zone_problem = anima_zone(summary.name, summary.status, config)
    named = anima_schedules(heartbeat_md, cron_md, consolidation=config.consolidation)
    texts = {"heartbeat.md": heartbeat_md or "", "cron.md": cron_md or ""}
    rejections = [
        Rejection(summary.name, n.file, n.section or n.key, n.error, digest(texts.get(n.file, "")))
        for n in named
        if n.error is not None
    ]
    if zone_problem is not None:
        written = str(summary.status.get("timezone"))
        rejections.append(Rejection(summary.name, "status.json", "timezone", zone_problem, digest(written)))
    return AnimaPlan(
        name=summary.name,
        enabled=summary.enabled,
        zone=zone,
        schedules=tuple(n for n in named if n.schedule is not None),
        rejections=tuple(rejections),
    )
