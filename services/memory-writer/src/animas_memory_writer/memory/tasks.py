"""The task and inbox store's state machine, and the Markdown views rendered from it."""

from __future__ import annotations

from collections.abc import Sequence

from animas_contracts import TaskRecord, TaskState

S = TaskState
TERMINAL = frozenset({S.DONE, S.FAILED, S.CANCELLED})
INITIAL = frozenset({S.PENDING, S.IN_PROGRESS, S.DELEGATED})
"""States a task may be created in (a delegation starts ``delegated``)."""
TRANSITIONS: dict[TaskState, frozenset[TaskState]] = {
    S.PENDING: frozenset({S.IN_PROGRESS, S.BLOCKED, S.DELEGATED, S.DONE, S.CANCELLED}),
    S.IN_PROGRESS: frozenset({S.PENDING, S.BLOCKED, S.DELEGATED, S.DONE, S.FAILED, S.CANCELLED}),
    S.BLOCKED: frozenset({S.PENDING, S.IN_PROGRESS, S.DELEGATED, S.DONE, S.FAILED, S.CANCELLED}),
    S.DELEGATED: frozenset({S.IN_PROGRESS, S.BLOCKED, S.DONE, S.FAILED, S.CANCELLED}),
    S.DONE: frozenset(),
    S.FAILED: frozenset(),
    S.CANCELLED: frozenset(),
}


def transition_problem(current: TaskState, target: TaskState) -> str | None:
    """Why ``current → target`` is not allowed, or None when it is."""
    if target in TRANSITIONS[current]:
        return None
    if current in TERMINAL:
        return f"task is {current.value}, a final state; it cannot move to {target.value}"
    allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current]))
    return f"a {current.value} task cannot move to {target.value} (allowed: {allowed})"


def _line(task: TaskRecord) -> str:
    who = f" ({task.relation.value.replace('_', ' ')}: {task.counterpart})" if task.counterpart else ""
    detail = f" — {task.detail}" if task.detail else ""
    if task.deadline:
        detail += f" (due {task.deadline})"
    return f"- [{task.state.value}] {task.title}{who}{detail} `{task.task_id}`"


def render_pending(tasks: Sequence[TaskRecord]) -> str:
    """``state/pending.md``: every open task and deferred message, oldest first."""
    open_tasks = [t for t in tasks if t.state not in TERMINAL]
    lines = ["# Pending", ""]
    lines += [_line(t) for t in open_tasks] or ["Nothing pending."]
    return "\n".join(lines) + "\n"


def render_current(tasks: Sequence[TaskRecord]) -> str:
    """``state/current_task.md``: what the anima is working on now."""
    active = [t for t in tasks if t.state == S.IN_PROGRESS]
    lines = ["# Current Task", ""]
    lines += [_line(t) for t in active] or ["No task in progress."]
    return "\n".join(lines) + "\n"
