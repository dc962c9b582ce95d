"""Tools over the anima's one task store (DESIGN §9): add, move through states, list."""

from __future__ import annotations

from animas_agent_runner.toolbox.context import ToolContext
from animas_agent_runner.toolbox.errors import ToolFailed
from animas_agent_runner.toolbox.memory_tools import request_op
from animas_agent_runner.toolbox.registry import Args, Tool
from animas_contracts import CreateTask, TaskState, TransitionTask

_STATES = ", ".join(state.value for state in TaskState)


class AddTaskArgs(Args, frozen=True, kw_only=True):
    """Arguments of add_task."""

    title: str
    detail: str = ""


class UpdateTaskArgs(Args, frozen=True, kw_only=True):
    """Arguments of update_task."""

    task_id: str
    state: str
    note: str = ""


class ListTasksArgs(Args, frozen=True, kw_only=True):
    """Arguments of list_tasks."""

    include_closed: bool = False


def task_id_for(ctx: ToolContext, ordinal: int) -> str:
    """A short id the model can repeat back, derived so a redelivered cycle creates the task once."""
    return "t-" + ctx.effect_id(ordinal, "task").replace("-", "")[:10]


async def add_task(ctx: ToolContext, args: AddTaskArgs, ordinal: int) -> str:
    """The add_task tool (see its description below)."""
    if not args.title.strip():
        raise ToolFailed("title is empty")
    task_id = task_id_for(ctx, ordinal)
    await request_op(ctx, CreateTask(task_id=task_id, title=args.title.strip(), detail=args.detail), ordinal)
    return f"Added task {task_id}: {args.title.strip()}"


async def update_task(ctx: ToolContext, args: UpdateTaskArgs, ordinal: int) -> str:
    """The update_task tool (see its description below)."""
    try:
        state = TaskState(args.state.strip().lower())
    except ValueError:
        raise ToolFailed(f"unknown state {args.state!r}; use one of {_STATES}") from None
    await request_op(ctx, TransitionTask(task_id=args.task_id, to=state, note=args.note), ordinal)
    return f"Task {args.task_id} is now {state.value}."


_CLOSED = {TaskState.DONE, TaskState.FAILED, TaskState.CANCELLED}


async def list_tasks(ctx: ToolContext, args: ListTasksArgs, ordinal: int) -> str:
    """The list_tasks tool (see its description below)."""
    rows = [t for t in await ctx.memory.tasks(ctx.anima) if args.include_closed or t.state not in _CLOSED]
    if not rows:
        return "You have no open tasks." if not args.include_closed else "You have no tasks."
    lines = []
    for task in rows:
        who = f" ({task.relation.value}: {task.counterpart})" if task.counterpart else ""
        lines.append(f"- {task.task_id} [{task.state.value}] {task.title}{who}")
    return "\n".join(lines)


TASK_TOOLS = (
    Tool("add_task", "Add a task to your task list.", AddTaskArgs, add_task),
    Tool(
        "update_task",
        f"Move one of your tasks to another state ({_STATES}), with a note.",
        UpdateTaskArgs,
        update_task,
    ),
    Tool("list_tasks", "List your tasks (open ones unless include_closed).", ListTasksArgs, list_tasks),
)
