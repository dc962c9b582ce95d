"""Delegation down the org chart and reports back up: ``delegate_task`` and ``report_task``.

``delegate_task`` creates the supervisor's own task (state ``delegated``, linked to the task
the subordinate will hold) and sends a ``task`` message to a direct subordinate through
outbound, which checks the org chart again and starts the subordinate's task cycle. With
``wait`` the tool waits, up to a capped timeout, for the subordinate's report and returns it to
the model; the report still reaches the supervisor's inbox, where it moves the task without
waking the supervisor a second time (``task.report.taken``).

``report_task`` moves the assignee's own task and sends the report to the supervisor that
delegated it. Every id is derived from the cycle and the call, so a rerun does each once.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from animas_agent_runner.domain import PRODUCER
from animas_agent_runner.toolbox.context import ToolContext
from animas_agent_runner.toolbox.errors import ToolFailed
from animas_agent_runner.toolbox.memory_tools import request_op
from animas_agent_runner.toolbox.registry import Args, Tool
from animas_agent_runner.toolbox.sending import request_for, send
from animas_agent_runner.toolbox.task_tools import task_id_for
from animas_contracts import (
    AnimaSummary,
    CreateTask,
    Event,
    MessageKind,
    MessageReceived,
    OutboundKind,
    ReportOutcome,
    ReportTaken,
    TaskLink,
    TaskRelation,
    TaskState,
    TransitionTask,
    derive_id,
    is_valid_anima_name,
)

MAX_INSTRUCTION_CHARS = 8_000
DEFAULT_WAIT_S = 300.0
MAX_WAIT_S = 600.0
"""The longest a cycle waits for a report: the anima's partition runs nothing else meanwhile."""

_OUTCOMES = ", ".join(o.value for o in ReportOutcome)


class DelegateTaskArgs(Args, frozen=True, kw_only=True):
    """Arguments of delegate_task."""

    to: str
    instruction: str
    deadline: str | None = None
    """ISO 8601 date or time it is due by; a time without a zone is in your time zone."""
    wait: bool = False
    """Wait in this cycle for the report (up to wait_timeout_s) and get it as the result."""
    wait_timeout_s: float = DEFAULT_WAIT_S


class ReportTaskArgs(Args, frozen=True, kw_only=True):
    """Arguments of report_task."""

    task_id: str
    outcome: str
    summary: str


def report_key(supervisor: str, supervisor_task_id: str) -> str:
    """The key a waiting delegate_task expects its report under."""
    return f"{supervisor}:{supervisor_task_id}"


def report_key_of(event: Event) -> str | None:
    """The key of a report message (None for anything else): for the waiter on the bus."""
    if isinstance(event, MessageReceived) and event.kind is MessageKind.REPORT and event.task is not None:
        return report_key(event.anima, event.task.supervisor_task_id)
    return None


def assignee_task_id(supervisor_task_id: str) -> str:
    """The id the assignee's copy of a delegated task gets (derived, so a rerun makes one)."""
    return "t-" + derive_id(supervisor_task_id, "assigned").replace("-", "")[:10]


def supervisor_of(summary: AnimaSummary) -> str | None:
    """Whom an anima reports to, from its status.json."""
    boss = summary.status.get("supervisor")
    return boss if isinstance(boss, str) and boss else None


async def _subordinate(ctx: ToolContext, name: str) -> str:
    to = name.strip().lower()
    animas = {a.name: a for a in await ctx.memory.animas()}
    found = animas.get(to) if is_valid_anima_name(to) else None
    mine = sorted(a.name for a in animas.values() if supervisor_of(a) == ctx.anima and a.enabled)
    yours = f"Your direct subordinates: {', '.join(mine)}" if mine else "No anima reports to you"
    if found is None:
        raise ToolFailed(f"there is no anima named {name!r}; nothing was delegated. {yours}.")
    boss = supervisor_of(found)
    if boss != ctx.anima:
        where = f"{to} reports to {boss}" if boss else f"{to} reports to no anima"
        raise ToolFailed(f"{to} is not your direct subordinate ({where}); nothing was delegated. {yours}.")
    if not found.enabled:
        raise ToolFailed(f"{to} is disabled and cannot take a task; nothing was delegated")
    return to


def _deadline(ctx: ToolContext, text: str | None) -> str | None:
    if text is None or not text.strip():
        return None
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ToolFailed(
            f"deadline {text!r} is not an ISO 8601 date or time (e.g. 2026-03-01T17:00)"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=ctx.now().tzinfo)
    return when.isoformat(timespec="minutes")


def _title(instruction: str) -> str:
    first = instruction.strip().splitlines()[0]
    return first if len(first) <= 80 else first[:79] + "…"


async def delegate_task(ctx: ToolContext, args: DelegateTaskArgs, ordinal: int) -> str:
    """The delegate_task tool (see its description below)."""
    instruction = args.instruction.strip()
    if not instruction:
        raise ToolFailed("the instruction is empty")
    if len(instruction) > MAX_INSTRUCTION_CHARS:
        raise ToolFailed(
            f"the instruction is {len(instruction)} characters; the limit is {MAX_INSTRUCTION_CHARS}. "
            "Put the material in a file and say where it is."
        )
    to = await _subordinate(ctx, args.to)
    deadline = _deadline(ctx, args.deadline)
    if args.wait and ctx.task is not None:
        raise ToolFailed(
            "you are carrying out a delegated task: delegate without wait; the report wakes you "
            "when it comes, and you report your own task then"
        )
    if args.wait and ctx.reports is None:
        raise ToolFailed("waiting for a report is not available here; delegate without wait")
    task_id = task_id_for(ctx, ordinal)
    link = TaskLink(
        supervisor=ctx.anima,
        supervisor_task_id=task_id,
        task_id=assignee_task_id(task_id),
        assignee=to,
        deadline=deadline,
    )
    create = CreateTask(
        task_id=task_id,
        title=_title(instruction),
        detail=instruction,
        relation=TaskRelation.DELEGATED_BY_ME,
        counterpart=to,
        state=TaskState.DELEGATED,
        deadline=deadline,
        parent=ctx.task.task_id if ctx.task is not None else None,
        linked_task=link.task_id,
    )
    await request_op(ctx, create, ordinal, kind="task")
    key = report_key(ctx.anima, task_id)
    waiting = ctx.reports.expect(key) if args.wait and ctx.reports is not None else None
    try:
        request = request_for(
            ctx,
            ordinal,
            OutboundKind.MESSAGE,
            to,
            instruction,
            intent=MessageKind.TASK,
            task=link,
            thread_id=f"task:{task_id}",
        )
        try:
            delivered = await send(ctx, request)
        except ToolFailed as refused:
            note = str(refused)
            await request_op(
                ctx, TransitionTask(task_id=task_id, to=TaskState.CANCELLED, note=note), ordinal, "cancel"
            )
            raise
        due = f", due {deadline}" if deadline else ""
        sent = f"Task {task_id} delegated to {to}{due}" + (
            "" if delivered else " (delivery not confirmed yet)"
        )
        if waiting is None:
            return f"{sent}. Their report will come to you as a message."
        return await _await_report(ctx, waiting, task_id, to, sent, args.wait_timeout_s)
    finally:
        if waiting is not None and ctx.reports is not None:
            ctx.reports.forget(key)


async def _await_report(
    ctx: ToolContext, waiting: asyncio.Future[Event], task_id: str, to: str, sent: str, timeout_s: float
) -> str:
    limit = max(1.0, min(timeout_s, MAX_WAIT_S))
    try:
        report = await asyncio.wait_for(waiting, limit)
    except TimeoutError:
        return f"{sent}. No report came within {limit:.0f} s; it will come to you as a message."
    if not isinstance(report, MessageReceived) or report.task is None:
        return f"{sent}. Their report will come to you as a message."
    await ctx.publisher.publish(
        ReportTaken(
            id=derive_id(report.id, "taken"),  # cycle/reports.py finds it under this id
            anima=ctx.anima,
            correlation_id=ctx.correlation_id,
            causation_id=report.id,
            producer=PRODUCER,
            report_id=report.id,
            task_id=task_id,
            cycle_id=ctx.cycle_id,
        )
    )
    outcome = report.task.outcome.value if report.task.outcome else "done"
    return f"{sent}. Report from {to} ({outcome}):\n{report.text}"


async def report_task(ctx: ToolContext, args: ReportTaskArgs, ordinal: int) -> str:
    """The report_task tool (see its description below)."""
    try:
        outcome = ReportOutcome(args.outcome.strip().lower())
    except ValueError:
        raise ToolFailed(f"unknown outcome {args.outcome!r}; use one of {_OUTCOMES}") from None
    summary = args.summary.strip()
    if not summary:
        raise ToolFailed("the summary is empty: say what you did and what came of it")
    task_id = args.task_id.strip()
    task = next((t for t in await ctx.memory.tasks(ctx.anima) if t.task_id == task_id), None)
    if task is None or task.relation is not TaskRelation.ASSIGNED_TO_ME:
        assigned = [
            t.task_id
            for t in await ctx.memory.tasks(ctx.anima)
            if t.relation is TaskRelation.ASSIGNED_TO_ME and t.state not in _CLOSED
        ]
        listed = ", ".join(assigned) or "none"
        raise ToolFailed(f"{task_id!r} is not a task delegated to you; open delegated tasks: {listed}")
    if task.counterpart is None or task.linked_task is None:
        raise ToolFailed(f"task {task_id} has no supervisor's task to report to")
    if task.state is not TaskState(outcome.value):
        await request_op(
            ctx, TransitionTask(task_id=task_id, to=TaskState(outcome.value), note=summary), ordinal, "task"
        )
    link = TaskLink(
        supervisor=task.counterpart,
        supervisor_task_id=task.linked_task,
        task_id=task_id,
        assignee=ctx.anima,
        deadline=task.deadline,
        outcome=outcome,
    )
    request = request_for(
        ctx,
        ordinal,
        OutboundKind.MESSAGE,
        task.counterpart,
        summary,
        intent=MessageKind.REPORT,
        task=link,
        thread_id=f"task:{task.linked_task}",
    )
    delivered = await send(ctx, request)
    state = "" if delivered else " (delivery not confirmed yet)"
    return f"Reported task {task_id} to {task.counterpart} as {outcome.value}{state}."


_CLOSED = frozenset({TaskState.DONE, TaskState.FAILED, TaskState.CANCELLED})


DELEGATION_TOOLS = (
    Tool(
        "delegate_task",
        "Delegate a task to one of your direct subordinates: it goes into their task list and "
        "they start on it at once; their report (done, failed or blocked) comes back to you as a "
        "message and moves your copy of the task. deadline: ISO 8601. wait=true waits in this "
        "cycle for the report (up to wait_timeout_s, at most 600) and returns it here.",
        DelegateTaskArgs,
        delegate_task,
    ),
    Tool(
        "report_task",
        f"Report on a task delegated to you ({_OUTCOMES}) to the anima that delegated it, with "
        "a summary of what you did and found. Blocked: say what you need.",
        ReportTaskArgs,
        report_task,
    ),
)
