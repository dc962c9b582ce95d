"""``anima tasks NAME``: an anima's tasks as a tree across animas.

A delegated task is followed into its assignee's store (its linked copy there), and that copy
into the delegations the assignee made while working on it (tasks whose ``parent`` it is), so a
manager sees what it handed down, to whom, in which state, with each report's note.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Annotated

import typer
from nats.aio.client import Client

from animas_contracts import InvalidAnimaName, TaskRecord, TaskRelation, validate_anima_name
from animas_core.memory_client import MemoryClient
from animas_tools.cli_support import fail, with_nats

HomeOption = Annotated[
    Path | None, typer.Option("--home", help="AnimaWorks home (default: $ANIMAWORKS_HOME or ~/.animaworks)")
]
NatsUrlOption = Annotated[
    str | None, typer.Option("--nats-url", help="Use this NATS instead of the one `anima up` started")
]
NOTE_CHARS = 160
MAX_DEPTH = 8

Stores = Mapping[str, list[TaskRecord]]


async def gather_stores(
    root: str, tasks_of: Callable[[str], Awaitable[list[TaskRecord]]]
) -> dict[str, list[TaskRecord]]:
    """The task stores of ``root`` and of every anima its delegations reached, transitively."""
    stores: dict[str, list[TaskRecord]] = {}
    queue = [root]
    while queue:
        anima = queue.pop(0)
        if anima in stores:
            continue
        stores[anima] = await tasks_of(anima)
        for task in stores[anima]:
            if (
                task.relation is TaskRelation.DELEGATED_BY_ME
                and task.counterpart
                and task.counterpart not in stores
            ):
                queue.append(task.counterpart)
    return stores


def _line(owner: str, task: TaskRecord, depth: int) -> str:
    parts = [f"{'  ' * depth}- {owner} {task.task_id} [{task.state.value}] {task.title}"]
    if task.relation is TaskRelation.DELEGATED_BY_ME and task.counterpart:
        parts.append(f"-> {task.counterpart}")
    elif task.relation is TaskRelation.ASSIGNED_TO_ME and task.counterpart:
        parts.append(f"(from {task.counterpart})")
    if task.deadline:
        parts.append(f"(due {task.deadline})")
    line = " ".join(parts)
    note = " ".join(task.note.split())
    if note:
        line += f": {note[:NOTE_CHARS]}" + ("…" if len(note) > NOTE_CHARS else "")
    return line


def task_tree(root: str, stores: Stores, *, include_closed: bool = True) -> list[str]:
    """The lines of ``anima tasks``: the root's tasks, each with what it was handed down to."""
    lines = [f"Tasks of {root}:"]

    def walk(owner: str, task: TaskRecord, depth: int) -> None:
        lines.append(_line(owner, task, depth))
        if depth >= MAX_DEPTH:
            return
        mine = stores.get(owner, [])
        if task.relation is TaskRelation.DELEGATED_BY_ME and task.counterpart and task.linked_task:
            copy = next((t for t in stores.get(task.counterpart, []) if t.task_id == task.linked_task), None)
            if copy is not None:
                walk(task.counterpart, copy, depth + 1)
            else:
                lines.append(f"{'  ' * (depth + 1)}- {task.counterpart} has not taken it on yet")
        for child in (t for t in mine if t.parent == task.task_id):
            walk(owner, child, depth + 1)

    open_states = {"pending", "in_progress", "blocked", "delegated"}
    roots = [
        t
        for t in stores.get(root, [])
        if t.parent is None
        and t.relation is not TaskRelation.DEFERRED_MESSAGE
        and (include_closed or t.state.value in open_states)
    ]
    for task in roots:
        walk(root, task, 1)
    if not roots:
        lines.append("  (no tasks)")
    return lines


def tasks(
    name: Annotated[str, typer.Argument(help="The anima whose tasks to show")],
    home: HomeOption = None,
    nats_url: NatsUrlOption = None,
    open_only: Annotated[bool, typer.Option("--open", help="Only tasks not finished yet")] = False,
) -> None:
    """Show an anima's tasks as a tree: what it delegated, to whom, and how each went."""
    try:
        root = validate_anima_name(name)
    except InvalidAnimaName as exc:
        raise fail(str(exc)) from None

    async def work(nc: Client) -> None:
        client = MemoryClient(nc)
        names = {a.name for a in await client.animas()}
        if root not in names:
            raise fail(f"there is no anima named {root!r}")
        stores = await gather_stores(root, client.tasks)
        for line in task_tree(root, stores, include_closed=not open_only):
            typer.echo(line)

    with_nats(home, nats_url, work)


def register(app: typer.Typer) -> None:
    """Add ``anima tasks`` to the command."""
    app.command()(tasks)
