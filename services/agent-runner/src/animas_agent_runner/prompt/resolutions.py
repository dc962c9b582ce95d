"""The organization's resolution log: what every anima resolved in the last days (seed 004, issue #13).

Transactive memory ("who resolved what"): each anima's prompt lists the tasks the organization
finished recently, newest first, so it can ask the one who solved a problem before. The source
is memory-writer's task stores (the authority on task states; nothing to keep in step), read in
the same gather as the org chart. The log is small by construction: at most :data:`MAX_ENTRIES`
one-line entries of at most :data:`MAX_TITLE_CHARS` characters of title.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from animas_contracts import TaskRecord, TaskState

WINDOW = timedelta(days=7)
MAX_ENTRIES = 10
MAX_TITLE_CHARS = 100


def resolution_log(tasks_by_anima: Iterable[tuple[str, Iterable[TaskRecord]]], now: datetime) -> str:
    """Markdown lines ``- YYYY-MM-DD <anima>: <title>`` of tasks done within :data:`WINDOW` of ``now``.

    Dates are in ``now``'s zone (the reading anima's); unreadable timestamps are left out.
    """
    done: list[tuple[datetime, str, str]] = []
    for anima, tasks in tasks_by_anima:
        for task in tasks:
            if task.state is not TaskState.DONE:
                continue
            try:
                at = datetime.fromisoformat(task.updated_at)
            except ValueError:
                continue
            if at.tzinfo is None or not now - WINDOW <= at <= now:
                continue
            done.append((at, anima, _title(task.title)))
    done.sort(key=lambda row: (row[0], row[1], row[2]), reverse=True)
    lines = [
        f"- {at.astimezone(now.tzinfo).date().isoformat()} {anima}: {title}" for at, anima, title in done
    ]
    shown = lines[:MAX_ENTRIES]
    if len(lines) > MAX_ENTRIES:
        shown.append(f"- … and {len(lines) - MAX_ENTRIES} more")
    return "\n".join(shown)


def _title(title: str) -> str:
    flat = " ".join(title.split())
    return flat if len(flat) <= MAX_TITLE_CHARS else flat[: MAX_TITLE_CHARS - 1] + "…"
