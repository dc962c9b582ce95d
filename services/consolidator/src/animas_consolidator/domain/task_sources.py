"""Resolved tasks as source lines: what the anima finished or gave up on that day can be cited.

A task of the task store whose state is ``done`` or ``failed`` and whose last change fell on the
consolidated day (in the anima's zone) becomes one line, ``tasks/<task id>``, that states how it
ended, its title and its detail. Decisions cite it like any other line of the day.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from animas_consolidator.domain.sources import SourceKind, SourceLine
from animas_contracts import TaskRecord, TaskState

TASKS = "tasks/"
RESOLVED = frozenset({TaskState.DONE, TaskState.FAILED})


def resolved_that_day(task: TaskRecord, day: date, zone: ZoneInfo) -> bool:
    """Whether ``task`` reached done or failed on ``day`` (an unreadable change time does not count)."""
    if task.state not in RESOLVED:
        return False
    try:
        changed = datetime.fromisoformat(task.updated_at)
    except ValueError:
        return False
    return (changed.astimezone(zone) if changed.tzinfo else changed).date() == day


def task_line(task: TaskRecord) -> SourceLine:
    """The source line of a resolved task: how it ended, its title and its detail, on one line."""
    text = f"Task {task.state.value}: {' '.join(task.title.split())}"
    detail = " ".join(task.detail.split())
    if detail:
        text += f" — {detail}"
    return SourceLine(ref=f"{TASKS}{task.task_id}", text=text, kind=SourceKind.TASK)


def task_lines(tasks: Iterable[TaskRecord], day: date, zone: ZoneInfo) -> list[SourceLine]:
    """The day's resolved tasks as source lines, in task id order."""
    resolved = [task for task in tasks if resolved_that_day(task, day, zone)]
    return [task_line(task) for task in sorted(resolved, key=lambda t: t.task_id)]
