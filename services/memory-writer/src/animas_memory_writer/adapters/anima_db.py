"""The anima's SQLite file (``state/anima.db``): tasks, memory metadata, file digests, applied ops.

Everything here is rebuilt from the stream; it travels with the anima because its directory
does. Metadata is kept here, never in the Markdown, so an access does not rewrite a file.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from animas_contracts import MetaRecord, TaskRecord, TaskRelation, TaskState

SCHEMA = """
CREATE TABLE IF NOT EXISTS applied_ops (
  op_id TEXT PRIMARY KEY, status TEXT NOT NULL, kind TEXT NOT NULL,
  path TEXT, digest_before TEXT, outcome TEXT
);
CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, digest TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS memory_meta (
  path TEXT PRIMARY KEY, access_count INTEGER NOT NULL DEFAULT 0, last_access TEXT,
  success_count INTEGER NOT NULL DEFAULT 0, failure_count INTEGER NOT NULL DEFAULT 0,
  importance TEXT NOT NULL DEFAULT 'normal'
);
CREATE TABLE IF NOT EXISTS low_activity (path TEXT PRIMARY KEY, since TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tasks (
  task_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, title TEXT NOT NULL, detail TEXT NOT NULL,
  relation TEXT NOT NULL, state TEXT NOT NULL, counterpart TEXT,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL
);
"""

TASK_COLUMNS = (
    ("deadline", "TEXT"),
    ("parent", "TEXT"),
    ("linked_task", "TEXT"),
    ("note", "TEXT NOT NULL DEFAULT ''"),
)
"""Columns the task table gained with delegation; a database made before them gets them added."""


class AnimaDb:
    """One anima's database; every write is its own transaction."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.executescript(SCHEMA)
        have = {row[1] for row in self._conn.execute("PRAGMA table_info(tasks)")}
        for name, kind in TASK_COLUMNS:
            if name not in have:
                self._conn.execute(f"ALTER TABLE tasks ADD COLUMN {name} {kind}")

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (committed on success, rolled back on error)."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    # Applied operations: what makes a redelivered operation a no-op.
    def op(self, op_id: str) -> tuple[str, str | None, str | None, str | None] | None:
        """(status, path, digest_before, outcome) of an operation, if it was seen."""
        row = self._conn.execute(
            "SELECT status, path, digest_before, outcome FROM applied_ops WHERE op_id = ?", (op_id,)
        ).fetchone()
        return None if row is None else (row[0], row[1], row[2], row[3])

    def begin_op(self, op_id: str, kind: str, path: str | None, digest_before: str | None) -> None:
        """Record that an operation is about to change ``path`` (whose digest is ``digest_before``)."""
        self._conn.execute(
            "INSERT OR REPLACE INTO applied_ops VALUES (?, 'applying', ?, ?, ?, NULL)",
            (op_id, kind, path, digest_before),
        )

    def finish_op(self, op_id: str, kind: str, status: str, outcome: str) -> None:
        """Record how an operation ended: ``applied`` (outcome = paths) or ``rejected`` (reason)."""
        self._conn.execute(
            "INSERT INTO applied_ops (op_id, status, kind, outcome) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(op_id) DO UPDATE SET status = excluded.status, outcome = excluded.outcome",
            (op_id, status, kind, outcome),
        )

    # File digests: what memory-writer last wrote, so a hand edit can be told apart.
    def file_digest(self, path: str) -> str | None:
        """The digest memory-writer last recorded for a file."""
        row = self._conn.execute("SELECT digest FROM files WHERE path = ?", (path,)).fetchone()
        return None if row is None else str(row[0])

    def set_file(self, path: str, digest: str | None) -> None:
        """Record (or forget, with None) the digest of a file."""
        if digest is None:
            self._conn.execute("DELETE FROM files WHERE path = ?", (path,))
        else:
            self._conn.execute("INSERT OR REPLACE INTO files VALUES (?, ?)", (path, digest))

    def files(self) -> dict[str, str]:
        """Every recorded file and its digest."""
        return {str(p): str(d) for p, d in self._conn.execute("SELECT path, digest FROM files")}

    # Memory metadata.
    def meta(self, path: str) -> MetaRecord:
        """Metadata of one memory file (zeros when none was recorded)."""
        row = self._conn.execute(
            "SELECT access_count, last_access, success_count, failure_count, importance "
            "FROM memory_meta WHERE path = ?",
            (path,),
        ).fetchone()
        if row is None:
            return MetaRecord(path=path)
        return MetaRecord(
            path=path,
            access_count=row[0],
            last_access=row[1],
            success_count=row[2],
            failure_count=row[3],
            importance=row[4],
        )

    def put_meta(self, record: MetaRecord) -> None:
        """Store a metadata row."""
        self._conn.execute(
            "INSERT OR REPLACE INTO memory_meta VALUES (?, ?, ?, ?, ?, ?)",
            (
                record.path,
                record.access_count,
                record.last_access,
                record.success_count,
                record.failure_count,
                record.importance,
            ),
        )

    def move_meta(self, src: str, dst: str) -> None:
        """Metadata follows a file that is archived or restored."""
        self._conn.execute("UPDATE memory_meta SET path = ? WHERE path = ?", (dst, src))

    # Low-activity marks of daily downscaling (forgetting.downscaled): kept apart from the counts,
    # so that a recall or a restore clears them without touching the counts.
    def mark_low(self, path: str, since: str) -> None:
        """Mark a memory low-activity since a day."""
        self._conn.execute("INSERT OR REPLACE INTO low_activity VALUES (?, ?)", (path, since))

    def clear_low(self, path: str) -> None:
        """Drop a memory's low-activity mark (recalled, archived or restored)."""
        self._conn.execute("DELETE FROM low_activity WHERE path = ?", (path,))

    def all_meta(self) -> list[MetaRecord]:
        """Every metadata row, by path."""
        paths = [r[0] for r in self._conn.execute("SELECT path FROM memory_meta ORDER BY path")]
        return [self.meta(p) for p in paths]

    # Tasks.
    def task(self, task_id: str) -> TaskRecord | None:
        """One task."""
        rows = self._tasks("WHERE task_id = ?", (task_id,))
        return rows[0] if rows else None

    def tasks(self) -> list[TaskRecord]:
        """Every task in the order they were created."""
        return self._tasks("", ())

    def put_task(self, task: TaskRecord) -> None:
        """Insert or update a task, keeping its creation order."""
        seq = self._conn.execute(
            "SELECT COALESCE((SELECT seq FROM tasks WHERE task_id = ?), "
            "(SELECT COALESCE(MAX(seq), 0) + 1 FROM tasks))",
            (task.task_id,),
        ).fetchone()[0]
        self._conn.execute(
            "INSERT OR REPLACE INTO tasks (task_id, seq, title, detail, relation, state, counterpart, "
            "created_at, updated_at, deadline, parent, linked_task, note) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                task.task_id,
                seq,
                task.title,
                task.detail,
                task.relation.value,
                task.state.value,
                task.counterpart,
                task.created_at,
                task.updated_at,
                task.deadline,
                task.parent,
                task.linked_task,
                task.note,
            ),
        )

    def _tasks(self, where: str, args: tuple[str, ...]) -> list[TaskRecord]:
        return _task_rows(self._conn, where, args)


def _task_rows(conn: sqlite3.Connection, where: str, args: tuple[str, ...]) -> list[TaskRecord]:
    # A database opened read-only may predate the delegation columns: read what it has.
    have = {row[1] for row in conn.execute("PRAGMA table_info(tasks)")}
    extra = [name if name in have else "NULL" for name, _ in TASK_COLUMNS]
    rows = conn.execute(
        "SELECT task_id, title, detail, relation, state, counterpart, created_at, updated_at, "
        f"{', '.join(extra)} FROM tasks {where} ORDER BY seq",
        args,
    ).fetchall()
    return [
        TaskRecord(
            task_id=r[0],
            title=r[1],
            detail=r[2],
            relation=TaskRelation(r[3]),
            state=TaskState(r[4]),
            counterpart=r[5],
            created_at=r[6],
            updated_at=r[7],
            deadline=r[8],
            parent=r[9],
            linked_task=r[10],
            note=r[11] or "",
        )
        for r in rows
    ]


def read_tasks(path: Path) -> list[TaskRecord]:
    """The task store of a database file, opened read-only (for reads served beside the writer)."""
    if not path.exists():
        return []
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return _task_rows(conn, "", ())
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()
