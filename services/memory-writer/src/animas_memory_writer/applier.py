"""Applying changes to an anima's directory: validate, write atomically, answer once per operation.

Every change event (creation, status change, human write, identity revision, memory operation,
hand edit, access, conversation turn or compaction) comes through :meth:`MemoryApplier.apply`,
live and during a rebuild alike, so a rebuild from the stream reproduces the same bytes.
Operations are idempotent by event id: the outcome is recorded in the anima's database, and an
operation that was interrupted between its write and that record is recognised by comparing the
file with the digest taken before it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from animas_contracts import (
    AnimaCreated,
    AnimaFileWritten,
    AnimaStatusChanged,
    AppendEpisode,
    ArchiveMemory,
    CreateTask,
    DeleteSavedSession,
    Event,
    ForgettingDownscaled,
    IdentityRevised,
    MarkImportant,
    MemoryAccessed,
    MemoryEdited,
    MemoryExtracted,
    MemoryOpRequested,
    RecordOutcome,
    RestoreMemory,
    TransitionTask,
    TrimConversationArchive,
    WriteFile,
    WriteKnowledge,
    WriteProcedure,
)
from animas_core.anima_files import ANIMA_DIRECTORIES
from animas_core.config import AnimaWorksConfig, CachedConfig, ConfigError
from animas_core.home import Home
from animas_core.schedules.anima_zone import anima_zone
from animas_memory_writer.adapters import low_marks, procedure_versions, retention, task_store
from animas_memory_writer.adapters.anima_db import AnimaDb
from animas_memory_writer.adapters.anima_dir import AnimaDir, digest
from animas_memory_writer.adapters.boards import BOARD_EVENTS, BoardStore
from animas_memory_writer.adapters.conversations import CONVERSATION_EVENTS, apply_conversation
from animas_memory_writer.memory import ops, rules, tasks
from animas_memory_writer.memory.rules import Rejected

CHANGE_EVENTS = (
    AnimaCreated,
    AnimaStatusChanged,
    AnimaFileWritten,
    IdentityRevised,
    MemoryOpRequested,
    MemoryEdited,
    MemoryExtracted,
)
"""Events answered with memory.op.applied or memory.op.rejected."""


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What became of a change: the paths it wrote, or why it was refused."""

    kind: str
    paths: tuple[str, ...] = ()
    reason: str | None = None

    @property
    def applied(self) -> bool:
        """Whether the change was applied."""
        return self.reason is None


def kind_of(event: Event) -> str:
    """The name of the change an event asks for."""
    if isinstance(event, MemoryOpRequested):
        kind = type(event.op).__struct_config__.tag
        return str(kind)
    return event.event_type


class MemoryApplier:
    """The single writer of every anima directory under one home."""

    def __init__(self, home: Home, config: CachedConfig) -> None:
        self._home = home
        self._config = config
        self._dbs: dict[str, AnimaDb] = {}
        # Every event needs its anima's time zone (day files); status.json is read again only
        # after memory-writer itself rewrote it.
        self._statuses: dict[str, dict[str, Any]] = {}
        """status.json by anima, read once (dropped when it is written or the anima removed)."""
        self.boards = BoardStore(home.root / "boards" / "boards.db")
        """The boards projection (shared by every anima; reset only by a full rebuild)."""

    def directory(self, anima: str) -> AnimaDir:
        """The anima's directory."""
        return AnimaDir(self._home.anima_dir(anima))

    def db(self, anima: str) -> AnimaDb:
        """The anima's database, opened once."""
        if anima not in self._dbs:
            self._dbs[anima] = AnimaDb(self._home.anima_dir(anima) / "state" / "anima.db")
        return self._dbs[anima]

    def exists(self, anima: str) -> bool:
        """Whether the anima was created (its status.json exists)."""
        return (self._home.anima_dir(anima) / "status.json").is_file()

    def reset(self, anima: str) -> None:
        """Forget an anima's directory entirely (the first step of a rebuild)."""
        self._statuses.pop(anima, None)
        db = self._dbs.pop(anima, None)
        if db is not None:
            db.close()
        self.directory(anima).wipe()

    def close(self) -> None:
        """Close every database."""
        for db in self._dbs.values():
            db.close()
        self._dbs.clear()
        self.boards.close()

    def timezone(self, anima: str) -> str:
        """The anima's time zone, as the scheduler and priming read it (``anima_zone``).

        Config's ``animas`` over status.json over ``anima_defaults``, else the system's (config
        re-read on change), so its day files, activity log and schedules agree on "today".
        """
        if anima not in self._statuses:
            self._statuses[anima] = self._status(anima) or {}
        try:
            config = self._config.get()
        except ConfigError:
            config = AnimaWorksConfig()
        zone, _ = anima_zone(anima, self._statuses[anima], config)
        return zone.key

    def apply(self, event: Event, blobs: Mapping[str, bytes] | None = None) -> Outcome | None:
        """Apply a change event once; None for events that change nothing on disk."""
        if isinstance(event, MemoryAccessed):
            self._accessed(event)
            return None
        if isinstance(event, ForgettingDownscaled):
            if self.exists(event.anima):
                low_marks.apply_downscaled(event, self.db(event.anima))
            return None
        if isinstance(event, CONVERSATION_EVENTS):
            if self.exists(event.anima):
                apply_conversation(event, self.directory(event.anima), self.db(event.anima))
            return None
        if isinstance(event, BOARD_EVENTS):
            verdict = self.boards.apply(event)
            return None if verdict is None else Outcome(verdict.kind, reason=verdict.reason)
        if not isinstance(event, CHANGE_EVENTS):
            return None
        kind = kind_of(event)
        if not isinstance(event, AnimaCreated) and not self.exists(event.anima):
            return Outcome(kind, reason=f"there is no anima named {event.anima!r}")
        db = self.db(event.anima)
        seen = db.op(event.id)
        if seen is not None and seen[0] != "applying":
            status, _, _, stored = seen
            paths = tuple(p for p in (stored or "").split("\n") if p)
            return Outcome(kind, paths) if status == "applied" else Outcome(kind, reason=stored)
        if seen is not None:
            _, path, before, _ = seen
            current = self.directory(event.anima).read_bytes(path) if path else None
            if (digest(current) if current is not None else None) != before:
                # The write landed before the crash; only the record of it was lost.
                return self._finish(db, event.id, Outcome(kind, (path,) if path else ()))
        try:
            outcome = self._dispatch(event, kind, db, blobs or {})
        except Rejected as exc:
            outcome = Outcome(kind, reason=str(exc))
        return self._finish(db, event.id, outcome)

    def _finish(self, db: AnimaDb, op_id: str, outcome: Outcome) -> Outcome:
        if outcome.applied:
            db.finish_op(op_id, outcome.kind, "applied", "\n".join(outcome.paths))
        else:
            db.finish_op(op_id, outcome.kind, "rejected", outcome.reason or "")
        return outcome

    def _dispatch(self, event: Event, kind: str, db: AnimaDb, blobs: Mapping[str, bytes]) -> Outcome:
        directory = self.directory(event.anima)
        match event:
            case AnimaCreated():
                return self._created(event, directory, db, blobs)
            case AnimaStatusChanged():
                status = self._status(event.anima) or {}
                for key, value in event.changes.items():
                    if value is None:
                        status.pop(key, None)
                    else:
                        status[key] = value
                return Outcome(kind, (self._write(directory, db, "status.json", _json(status)),))
            case AnimaFileWritten():
                path, _ = directory.resolve(event.path)
                rules.check_human_write(path)
                rules.require_size(event.content)
                return Outcome(kind, (self._write(directory, db, path, event.content.encode()),))
            case IdentityRevised():
                rules.require_size(event.content)
                return Outcome(kind, (self._write(directory, db, "identity.md", event.content.encode()),))
            case MemoryEdited():
                path, _ = directory.resolve(event.path)
                if event.content is None:
                    directory.delete(path)
                    db.set_file(path, None)
                    return Outcome(kind, (path,))
                return Outcome(kind, (self._write(directory, db, path, event.content.encode()),))
            case MemoryOpRequested():
                return self._op(event, kind, directory, db)
            case MemoryExtracted():
                return self._episode(event, kind, directory, db, ops.extracted_episode(event))
        raise Rejected(f"{kind} is not a memory change")

    def _created(
        self, event: AnimaCreated, directory: AnimaDir, db: AnimaDb, blobs: Mapping[str, bytes]
    ) -> Outcome:
        if self.exists(event.anima) and db.op(event.id) is None:
            raise Rejected(f"an anima named {event.anima!r} already exists")
        contents: dict[str, bytes] = {p: c.encode() for p, c in event.files.items()}
        contents.update(event.binary_files)
        for path, ref in event.blobs.items():
            if path not in blobs:
                raise Rejected(f"{path}: stored body {ref} could not be fetched")
            contents[path] = blobs[path]
        if "status.json" not in contents or "identity.md" not in contents:
            raise Rejected("an anima needs at least identity.md and status.json")
        for folder in ANIMA_DIRECTORIES:
            (directory.root / folder).mkdir(parents=True, exist_ok=True)
        written = []
        for path, data in sorted(contents.items()):
            clean, _ = directory.resolve(path)
            if clean.startswith("state/anima.db"):
                raise Rejected("state/anima.db is rebuilt from events, not copied")
            written.append(self._write(directory, db, clean, data))
        with db.transaction():
            for task in event.tasks:
                db.put_task(task)
            for record in event.meta:
                db.put_meta(record)
        if event.tasks:
            written += self._render_tasks(directory, db)
        return Outcome("anima.created", tuple(written))

    def _op(self, event: MemoryOpRequested, kind: str, directory: AnimaDir, db: AnimaDb) -> Outcome:
        op = event.op
        at = event.ts
        match op:
            case AppendEpisode():
                return self._episode(event, kind, directory, db, op)
            case WriteKnowledge():
                path, _ = directory.resolve(op.path)
                rules.require_under(path, (rules.KNOWLEDGE,), "knowledge")
                rules.require_markdown(path)
                rules.require_size(op.content)
                text = ops.write_knowledge(directory.read_text(path), op, at)
                return Outcome(kind, (self._write(directory, db, path, text.encode()),))
            case WriteProcedure():
                path, _ = directory.resolve(op.path)
                rules.require_under(path, (rules.PROCEDURES,), "procedures")
                rules.require_markdown(path)
                rules.require_size(op.content)
                meta = db.meta(path)
                existing = directory.read_text(path)
                text = ops.write_procedure(existing, op, at, meta.success_count, meta.failure_count)
                archived = procedure_versions.archive_previous(directory, db, path, existing)
                written = self._write_once(event.id, kind, directory, db, path, existing, text)
                return Outcome(kind, (written, *archived))
            case RecordOutcome():
                path, _ = directory.resolve(op.path)
                rules.require_under(path, (rules.PROCEDURES,), "procedure outcomes")
                if not directory.exists(path):
                    raise Rejected(f"{path} does not exist")
                meta = db.meta(path)
                counts = {
                    "success_count": meta.success_count + int(op.success),
                    "failure_count": meta.failure_count + int(not op.success),
                }
                with db.transaction():
                    db.put_meta(msgspec.structs.replace(meta, **counts))
                    db.finish_op(event.id, kind, "applied", path)
                return Outcome(kind, (path,))
            case MarkImportant():
                path, _ = directory.resolve(op.path)
                rules.require_under(path, rules.MARKABLE, "important marks")
                text = ops.mark_important(directory.read_text(path), op)
                written = self._write(directory, db, path, text.encode())
                db.put_meta(msgspec.structs.replace(db.meta(path), importance="important"))
                return Outcome(kind, (written,))
            case ArchiveMemory():
                path, _ = directory.resolve(op.path)
                rules.require_under(path, rules.ARCHIVABLE, "archiving")
                target = rules.ARCHIVE + path
                if directory.exists(target):
                    raise Rejected(f"{target} already exists")
                directory.move(path, target)
                self._moved(db, path, target)
                return Outcome(kind, (path, target))
            case RestoreMemory():
                path, _ = directory.resolve(op.path)
                source = rules.ARCHIVE + path
                if not directory.exists(source):
                    raise Rejected(f"{path} is not in the archive")
                if directory.exists(path):
                    raise Rejected(f"{path} exists; restoring would overwrite it")
                directory.move(source, path)
                self._moved(db, source, path)
                low_marks.restored(db, path, at)
                return Outcome(kind, (source, path))
            case DeleteSavedSession():
                return Outcome(kind, retention.delete_saved_session(op, directory, db))
            case TrimConversationArchive():
                return Outcome(kind, retention.trim_conversation_archive(op, directory, db))
            case WriteFile():
                path, _ = directory.resolve(op.path)
                rules.check_agent_write(path, rules.self_modifiable(directory.read_text("permissions.md")))
                rules.require_size(op.content)
                return Outcome(kind, (self._write(directory, db, path, op.content.encode()),))
            case CreateTask():
                task_store.create(op, db, at)
                return Outcome(kind, tuple(self._render_tasks(directory, db)))
            case TransitionTask():
                task_store.transition(op, db, at)
                return Outcome(kind, tuple(self._render_tasks(directory, db)))
        raise Rejected(f"unknown memory operation {kind}")

    def _episode(
        self, event: Event, kind: str, directory: AnimaDir, db: AnimaDb, op: AppendEpisode
    ) -> Outcome:
        """Append an entry to the day file of ``op.at`` in the anima's time zone (once)."""
        local = op.at.astimezone(ZoneInfo(self.timezone(event.anima)))
        path = ops.episode_path(local)
        existing = directory.read_text(path)
        text = ops.append_episode(existing, op, local)
        rules.require_size(text)
        return Outcome(kind, (self._write_once(event.id, kind, directory, db, path, existing, text),))

    def _write(self, directory: AnimaDir, db: AnimaDb, path: str, data: bytes) -> str:
        if path == "status.json":
            self._statuses.pop(directory.root.name, None)
        directory.write(path, data)
        db.set_file(path, digest(data))
        return path

    def _write_once(
        self,
        op_id: str,
        kind: str,
        directory: AnimaDir,
        db: AnimaDb,
        path: str,
        existing: str | None,
        text: str,
    ) -> str:
        """Write a change that must not happen twice (an append, a version bump)."""
        before = digest(existing.encode()) if existing is not None else None
        db.begin_op(op_id, kind, path, before)
        return self._write(directory, db, path, text.encode())

    def _moved(self, db: AnimaDb, src: str, dst: str) -> None:
        with db.transaction():
            db.set_file(dst, db.file_digest(src))
            db.set_file(src, None)
            db.move_meta(src, dst)
            db.clear_low(src)

    def _render_tasks(self, directory: AnimaDir, db: AnimaDb) -> list[str]:
        rows = db.tasks()
        return [
            self._write(directory, db, "state/pending.md", tasks.render_pending(rows).encode()),
            self._write(directory, db, "state/current_task.md", tasks.render_current(rows).encode()),
        ]

    def _accessed(self, event: MemoryAccessed) -> None:
        if not self.exists(event.anima):
            return
        db = self.db(event.anima)
        if db.op(event.id) is not None:
            return
        stamp = event.ts.isoformat(timespec="seconds")
        with db.transaction():
            for raw in event.paths:
                try:
                    path = rules.normalize(raw)
                except Rejected:
                    continue
                meta = db.meta(path)
                db.put_meta(
                    msgspec.structs.replace(meta, access_count=meta.access_count + 1, last_access=stamp)
                )
                db.clear_low(path)  # recalled: its activity is no longer low
            db.finish_op(event.id, "memory.accessed", "applied", "")

    def _status(self, anima: str) -> dict[str, Any] | None:
        path = self._home.anima_dir(anima) / "status.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        return data if isinstance(data, dict) else None


def _json(data: Mapping[str, Any]) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
