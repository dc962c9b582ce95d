"""The task store's two changes, applied to an anima's database (DESIGN §9: one task store).

The state machine itself is :mod:`animas_memory_writer.memory.tasks`; this is where a change
meets the rows. A refused change raises :class:`~animas_memory_writer.memory.rules.Rejected`.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from animas_contracts import CreateTask, TaskRecord, TransitionTask
from animas_memory_writer.adapters.anima_db import AnimaDb
from animas_memory_writer.memory import tasks
from animas_memory_writer.memory.rules import Rejected


def create(op: CreateTask, db: AnimaDb, at: datetime) -> None:
    """Add a task in one of the states a task may start in."""
    if db.task(op.task_id) is not None:
        raise Rejected(f"task {op.task_id} already exists")
    if op.state not in tasks.INITIAL:
        raise Rejected(f"a task cannot start {op.state.value}")
    stamp = at.isoformat(timespec="seconds")
    db.put_task(
        TaskRecord(
            task_id=op.task_id,
            title=op.title,
            detail=op.detail,
            relation=op.relation,
            state=op.state,
            counterpart=op.counterpart,
            created_at=stamp,
            updated_at=stamp,
            deadline=op.deadline,
            parent=op.parent,
            linked_task=op.linked_task,
        )
    )


def transition(op: TransitionTask, db: AnimaDb, at: datetime) -> None:
    """Move a task to another state, keeping the transition's note (a report's summary)."""
    task = db.task(op.task_id)
    if task is None:
        raise Rejected(f"there is no task {op.task_id}")
    problem = tasks.transition_problem(task.state, op.to)
    if problem:
        raise Rejected(problem)
    stamp = at.isoformat(timespec="seconds")
    db.put_task(msgspec.structs.replace(task, state=op.to, updated_at=stamp, note=op.note))
