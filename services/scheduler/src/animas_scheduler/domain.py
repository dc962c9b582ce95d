"""Pure decisions of the scheduler: which occurrences are due, how missed ones fire, the events.

No I/O here. The loop reads the clock, the animas' files and the claims; these functions say what
to fire. Everything a replica decides is derived from (anima, schedule, fire time), so replicas
that see the same occurrence decide the same event with the same id.

Ranges: the occurrences due since a schedule's cursor form one range, claimed by its *first*
occurrence. Two replicas whose clocks differ see ranges with different ends but the same first
occurrence, so only one of them wins the range; the other finds it claimed and moves on from
where the winner's range ended. That is what keeps a coalesced event from being fired twice
(one per replica) when the replicas disagree on what "now" is.
"""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from animas_contracts import ConsolidationDue, ConsolidationKind, CronDue, Event, HeartbeatDue
from animas_contracts.ids import derive_id
from animas_contracts.schedule import ScheduleRejected, occurrence_id
from animas_core.config_model import MissedFires
from animas_core.schedules import NamedSchedule, fires_between

PRODUCER = "scheduler"

HEARTBEAT = "heartbeat"
CRON_PREFIX = "cron:"
CONSOLIDATION_PREFIX = "consolidation:"
_CHUNK = timedelta(days=1)


@dataclasses.dataclass(frozen=True)
class Firing:
    """What becomes of a range of due occurrences of one schedule."""

    first: datetime
    """The earliest occurrence of the range: its claim is keyed by this one."""
    head: datetime
    """The latest occurrence of the range: the event is for this one."""
    count: int
    """How many occurrences the range covers (the event's ``coalesced``)."""
    fire: bool
    """False: the range passes unfired (policy ``skip``, or older than ``all`` catches up)."""


def occurrences(named: NamedSchedule, start: datetime, end: datetime, tz: ZoneInfo) -> list[datetime]:
    """Occurrences of ``named`` in ``(start, end]`` (UTC, ascending), only inside its active hours.

    Counted whether or not the schedule is enabled (a disabled one passes over them). Asked a day
    at a time: a long downtime under a frequent schedule stays within the parser's
    :data:`~animas_core.schedules.MAX_FIRES` per question.
    """
    named = dataclasses.replace(named, enabled=True)
    times: list[datetime] = []
    while start < end:
        step = min(start + _CHUNK, end)
        times += fires_between(named, start, step, tz)
        start = step
    return times


def plan(due: list[datetime], policy: MissedFires, *, cap: int) -> list[Firing]:
    """Split the occurrences due since the cursor into ranges, each fired once or passed over.

    One occurrence fires as itself. More than one were missed (a downtime): ``coalesce`` fires one
    event for the latest, standing for all; ``skip`` fires none; ``all`` fires each of the latest
    ``cap`` and passes over the older ones.
    """
    if not due:
        return []
    if len(due) == 1 or policy == "coalesce":
        return [Firing(due[0], due[-1], len(due), fire=True)]
    if policy == "skip":
        return [Firing(due[0], due[-1], len(due), fire=False)]
    older, latest = due[: max(len(due) - cap, 0)], due[-cap:]
    passed = [Firing(older[0], older[-1], len(older), fire=False)] if older else []
    return passed + [Firing(t, t, 1, fire=True) for t in latest]


def due_event(anima: str, schedule_key: str, firing: Firing, now: datetime) -> Event:
    """The ``*.due`` event of a range: its id is the occurrence id of the range's latest occurrence.

    It starts a cycle of its own, so it is its own correlation id and has no cause.
    """
    event_id = occurrence_id(anima, schedule_key, firing.head)
    at, count = firing.head, firing.count
    if schedule_key == HEARTBEAT:
        return HeartbeatDue(
            id=event_id,
            anima=anima,
            correlation_id=event_id,
            producer=PRODUCER,
            ts=now,
            fire_at=at,
            coalesced=count,
        )
    if schedule_key.startswith(CRON_PREFIX):
        return CronDue(
            id=event_id,
            anima=anima,
            correlation_id=event_id,
            producer=PRODUCER,
            ts=now,
            task=schedule_key.removeprefix(CRON_PREFIX),
            fire_at=at,
            coalesced=count,
        )
    if schedule_key.startswith(CONSOLIDATION_PREFIX):
        return ConsolidationDue(
            id=event_id,
            anima=anima,
            correlation_id=event_id,
            producer=PRODUCER,
            ts=now,
            kind=ConsolidationKind(schedule_key.removeprefix(CONSOLIDATION_PREFIX)),
            fire_at=at,
            coalesced=count,
        )
    raise ValueError(f"unknown schedule key {schedule_key!r}")


def digest(text: str) -> str:
    """A short stable digest of a text (KV keys, rejection ids)."""
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def cursor_key(anima: str, schedule_key: str) -> str:
    """The KV key of a schedule's cursor; schedule keys hold characters KV keys do not allow."""
    return f"cursor.{anima}.{digest(schedule_key)}"


def claim_key(anima: str, schedule_key: str, first: datetime) -> str:
    """The KV key of the claim on the range that starts at ``first``."""
    return f"occ.{occurrence_id(anima, schedule_key, first)}"


@dataclasses.dataclass(frozen=True)
class Rejection:
    """A schedule that cannot be read, reported once per version of its file."""

    anima: str
    file: str
    schedule: str
    reason: str
    file_digest: str

    @property
    def event_id(self) -> str:
        """Derived from the anima, the file's content and the problem: one report per file version."""
        return derive_id(
            self.anima, "schedule.rejected", self.file, self.file_digest, self.schedule, self.reason
        )

    def event(self, now: datetime) -> ScheduleRejected:
        """The ``schedule.rejected`` event that tells the anima's owner."""
        return ScheduleRejected(
            id=self.event_id,
            anima=self.anima,
            correlation_id=self.event_id,
            producer=PRODUCER,
            ts=now,
            file=self.file,
            schedule=self.schedule,
            reason=self.reason,
        )

    def health(self) -> dict[str, str]:
        """The line of the health record (``anima status`` prints it under the scheduler)."""
        return {"anima": self.anima, "file": self.file, "schedule": self.schedule, "reason": self.reason}
