"""The task store keeps what delegation needs: start state, deadline, links and the last note."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from animas_contracts import (
    AnimaCreated,
    CreateTask,
    MemoryOp,
    MemoryOpRequested,
    MemoryReadRequest,
    TaskRelation,
    TaskState,
    TransitionTask,
)
from animas_core.anima_files import AnimaSpec, template_files
from animas_core.config import CachedConfig
from animas_core.home import Home
from animas_memory_writer import reads
from animas_memory_writer.adapters.anima_db import AnimaDb, read_tasks
from animas_memory_writer.applier import MemoryApplier, Outcome

AT = datetime(2026, 2, 12, 14, 30, tzinfo=UTC)
ENV: dict[str, Any] = {"anima": "mgr", "correlation_id": "c", "producer": "test", "ts": AT}

OLD_SCHEMA = """
CREATE TABLE tasks (
  task_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, title TEXT NOT NULL, detail TEXT NOT NULL,
  relation TEXT NOT NULL, state TEXT NOT NULL, counterpart TEXT,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL
);
INSERT INTO tasks VALUES ('t-old', 1, 'Old task', '', 'own', 'pending', NULL, '2026-01-01', '2026-01-01');
"""


def _applier(tmp_path: Path) -> MemoryApplier:
    applier = MemoryApplier(Home(tmp_path), CachedConfig(tmp_path / "config.json"))
    base = template_files(AnimaSpec(name="mgr", role="manager"), "manager")
    created = applier.apply(AnimaCreated(id="create", source="template:manager", files=base, **ENV))
    assert created is not None and created.applied, created
    return applier


def _apply(applier: MemoryApplier, op: MemoryOp, op_id: str) -> Outcome:
    outcome = applier.apply(MemoryOpRequested(id=op_id, op=op, **ENV))
    assert outcome is not None
    return outcome


def test_a_delegation_starts_delegated_with_its_deadline_and_link(tmp_path: Path) -> None:
    applier = _applier(tmp_path)
    create = CreateTask(
        task_id="t-1",
        title="Sales figures",
        relation=TaskRelation.DELEGATED_BY_ME,
        counterpart="alice",
        state=TaskState.DELEGATED,
        deadline="2026-02-13T09:00:00+00:00",
        parent="t-0",
        linked_task="t-a",
    )
    assert _apply(applier, create, "c1").applied
    assert _apply(
        applier, TransitionTask(task_id="t-1", to=TaskState.BLOCKED, note="no access"), "x1"
    ).applied
    # A blocked delegation can still finish when the subordinate reports again.
    assert _apply(
        applier, TransitionTask(task_id="t-1", to=TaskState.DONE, note="done after all"), "x2"
    ).applied
    (task,) = reads.read(applier.directory("mgr"), MemoryReadRequest(op="tasks")).tasks
    assert (task.state, task.deadline, task.parent, task.linked_task, task.note) == (
        TaskState.DONE,
        "2026-02-13T09:00:00+00:00",
        "t-0",
        "t-a",
        "done after all",
    )


def test_a_task_cannot_start_finished(tmp_path: Path) -> None:
    outcome = _apply(_applier(tmp_path), CreateTask(task_id="t", title="T", state=TaskState.DONE), "c1")
    assert outcome.reason == "a task cannot start done"


def test_the_pending_view_shows_a_deadline(tmp_path: Path) -> None:
    applier = _applier(tmp_path)
    _apply(applier, CreateTask(task_id="t", title="T", deadline="2026-02-13T09:00"), "c1")
    assert "(due 2026-02-13T09:00)" in (applier.directory("mgr").read_text("state/pending.md") or "")


def test_a_database_from_before_delegation_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "anima.db"
    conn = sqlite3.connect(path)
    conn.executescript(OLD_SCHEMA)
    conn.close()
    # Read-only, as the read server opens it, before any writer migrated it.
    (old,) = read_tasks(path)
    assert (old.task_id, old.deadline, old.linked_task, old.note) == ("t-old", None, None, "")
    db = AnimaDb(path)
    try:
        assert db.task("t-old") == old
        db.put_task(old.__class__(**{**_fields(old), "task_id": "t-new", "deadline": "2026-03-01"}))
        assert [t.deadline for t in db.tasks()] == [None, "2026-03-01"]
    finally:
        db.close()


def _fields(task: object) -> dict[str, Any]:
    return {name: getattr(task, name) for name in task.__struct_fields__}  # type: ignore[attr-defined]
