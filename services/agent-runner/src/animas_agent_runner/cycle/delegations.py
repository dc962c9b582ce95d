"""What a heartbeat notices about work the anima delegated: overdue and blocked delegations.

Times are compared with the heartbeat's occurrence time, never the wall clock, so a late
heartbeat, a replay or a test clock sees the same thing.
"""

from __future__ import annotations

from datetime import datetime

from animas_contracts import TaskRecord, TaskRelation, TaskState


def _due(deadline: str, now: datetime) -> datetime | None:
    try:
        when = datetime.fromisoformat(deadline)
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=now.tzinfo)


def delegation_finding(task: TaskRecord, now: datetime) -> tuple[str, str] | None:
    """(key, line) for a delegation that needs its supervisor at ``now``; None otherwise."""
    if task.relation is not TaskRelation.DELEGATED_BY_ME:
        return None
    who = task.counterpart or "a subordinate"
    if task.state is TaskState.BLOCKED:
        why = f": {task.note}" if task.note else "."
        return f"blocked:{task.task_id}", f'Task "{task.title}" delegated to {who} is blocked{why}'
    if task.state is TaskState.DELEGATED and task.deadline:
        due = _due(task.deadline, now)
        if due is not None and due < now:
            line = f'Task "{task.title}" delegated to {who} was due {task.deadline} and is not reported yet.'
            return f"overdue:{task.task_id}", line
    return None
