"""Autonomy: the scheduler's due events and what the heartbeat and cron cycles did (seed 003 §8).

A due event's id is derived from the anima, the schedule and the fire time
(:func:`occurrence_id`), so every scheduler replica that computes the same occurrence publishes
the same id, and the occurrence's claim in the ``SCHEDULES`` bucket is keyed by it too.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Annotated

import msgspec
from msgspec import Meta

from animas_contracts.envelope import Event
from animas_contracts.ids import derive_id


class ScheduledBy(enum.StrEnum):
    """Who fired an occurrence."""

    SCHEDULER = "scheduler"
    MANUAL = "manual"
    """``anima trigger`` (or the API): fired by hand, outside the schedule."""


def occurrence_id(anima: str, schedule: str, fire_at: datetime) -> str:
    """The id of one occurrence of ``schedule`` (``heartbeat``, ``cron:<task>``…) at ``fire_at``."""
    return derive_id(anima, "occurrence", schedule, fire_at.astimezone(UTC).isoformat(timespec="seconds"))


class HeartbeatDue(Event, frozen=True, kw_only=True, tag="heartbeat.due"):
    """The anima's heartbeat is due: look around, act only if something needs it."""

    fire_at: Annotated[datetime, Meta(description="The occurrence this is (UTC).")]
    scheduled_by: Annotated[ScheduledBy, Meta(description="The scheduler, or a person by hand.")] = (
        ScheduledBy.SCHEDULER
    )
    coalesced: Annotated[
        int,
        Meta(ge=1, description="Occurrences this one stands for (missed fires after downtime are merged)."),
    ] = 1


class CronDue(Event, frozen=True, kw_only=True, tag="cron.due"):
    """One of the anima's cron tasks is due."""

    task: Annotated[str, Meta(description="The task's title as cron.md names it.")]
    fire_at: Annotated[datetime, Meta(description="The occurrence this is (UTC).")]
    scheduled_by: Annotated[ScheduledBy, Meta(description="The scheduler, or a person by hand.")] = (
        ScheduledBy.SCHEDULER
    )
    coalesced: Annotated[int, Meta(ge=1, description="Occurrences this one stands for.")] = 1


class ConsolidationKind(enum.StrEnum):
    """Which consolidation is due (DESIGN §6)."""

    DAILY = "daily"
    WEEKLY = "weekly"


class ConsolidationDue(Event, frozen=True, kw_only=True, tag="consolidation.due"):
    """Memory consolidation of the anima is due (config ``consolidation`` times, its time zone)."""

    kind: Annotated[ConsolidationKind, Meta(description="daily or weekly.")]
    fire_at: Annotated[datetime, Meta(description="The occurrence this is (UTC).")]
    coalesced: Annotated[int, Meta(ge=1, description="Occurrences this one stands for.")] = 1
    scheduled_by: Annotated[ScheduledBy, Meta(description="The scheduler, or a person by hand.")] = (
        ScheduledBy.SCHEDULER
    )
    date: Annotated[
        Annotated[str, Meta(pattern=r"^\d{4}-\d{2}-\d{2}$")] | None,
        Meta(
            description="The day to consolidate (YYYY-MM-DD, the anima's time zone); null: the day "
            "before the one the occurrence fires on.",
        ),
    ] = None


class ScheduleRejected(Event, frozen=True, kw_only=True, tag="schedule.rejected"):
    """A schedule the scheduler cannot read: reported, skipped, never guessed."""

    file: Annotated[str, Meta(description="heartbeat.md or cron.md.")]
    schedule: Annotated[str, Meta(description="The schedule as written (or the section it is in).")]
    reason: Annotated[str, Meta(description="Why it was not understood.")]


class HeartbeatOutcome(enum.StrEnum):
    """What a heartbeat came to."""

    OK = "ok"
    """Nothing needed the anima: HEARTBEAT_OK, no model call, nothing sent."""
    ACTED = "acted"
    """Something needed it, and the anima thought and acted."""
    OUTSIDE_ACTIVE_HOURS = "outside_active_hours"
    """It fired outside the anima's active hours and did not run."""


class HeartbeatFinished(Event, frozen=True, kw_only=True, tag="heartbeat.finished"):
    """A heartbeat cycle ended."""

    cycle_id: Annotated[str, Meta(description="The cycle (the due event's id derives it).")]
    outcome: Annotated[
        HeartbeatOutcome, Meta(description="ok (HEARTBEAT_OK), acted or outside_active_hours.")
    ]
    found: Annotated[list[str], Meta(description="What it found to attend to, one line each.")] = (
        msgspec.field(default_factory=list)
    )
    fire_at: Annotated[
        datetime | None,
        Meta(description="The occurrence it ran for (the due event's fire_at); null in older events."),
    ] = None


class CronOutcome(enum.StrEnum):
    """What a cron task came to."""

    RAN = "ran"
    SKIPPED = "skipped"
    """The command's output matched ``skip_pattern``: nothing to do, the model was not called."""
    FAILED = "failed"


class CronExecuted(Event, frozen=True, kw_only=True, tag="cron.executed"):
    """A cron task ran (seed 003 §4.10 ``cron_executed``)."""

    cycle_id: Annotated[str, Meta(description="The cycle (the due event's id derives it).")]
    task: Annotated[str, Meta(description="The task's title.")]
    outcome: Annotated[CronOutcome, Meta(description="ran, skipped or failed.")]
    command_output: Annotated[str, Meta(description="The command's output (truncated), if it had one.")] = ""
    output: Annotated[str, Meta(description="What the task produced (truncated).")] = ""
    error: Annotated[str | None, Meta(description="Why it failed, if it did.")] = None
