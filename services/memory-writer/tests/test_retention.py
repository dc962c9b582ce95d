"""Housekeeping's operations: deleting a saved session and trimming a conversation archive."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest

from animas_contracts import (
    AnimaCreated,
    ConversationTurn,
    DeleteSavedSession,
    MemoryOp,
    MemoryOpRequested,
    TrimConversationArchive,
    TurnRole,
    WriteFile,
)
from animas_core.anima_files import AnimaSpec, template_files
from animas_core.config import CachedConfig
from animas_core.home import Home
from animas_memory_writer.applier import MemoryApplier, Outcome

AT = datetime(2026, 2, 12, 14, 30, tzinfo=UTC)
ENV: dict[str, Any] = {"anima": "tanaka", "correlation_id": "c", "producer": "test", "ts": AT}
SESSION = "shortterm/archive/20260101-cycle-1.md"
ARCHIVE = "state/conversations/boss.archive.jsonl"


def _apply(applier: MemoryApplier, op: MemoryOp, op_id: str) -> Outcome:
    outcome = applier.apply(MemoryOpRequested(id=op_id, op=op, **ENV))
    assert outcome is not None
    return outcome


@pytest.fixture
def applier(tmp_path: Path) -> MemoryApplier:
    a = MemoryApplier(Home(tmp_path), CachedConfig(tmp_path / "config.json"))
    files = template_files(AnimaSpec(name="tanaka", role="engineer"), "engineer")
    created = a.apply(AnimaCreated(id="create", source="template:engineer", files=files, **ENV))
    assert created is not None and created.applied
    assert _apply(a, WriteFile(path=SESSION, content="# saved\n"), "save").applied
    return a


def _turn(number: int, ts: datetime) -> bytes:
    return (
        msgspec.json.encode(ConversationTurn(id=f"t{number}", role=TurnRole.USER, text=f"hi {number}", ts=ts))
        + b"\n"
    )


def test_a_saved_session_is_deleted_once(applier: MemoryApplier) -> None:
    outcome = _apply(applier, DeleteSavedSession(path=SESSION, reason="retention"), "del")
    assert outcome.applied and outcome.paths == (SESSION,)
    assert not applier.directory("tanaka").exists(SESSION)
    # The same event again (a redelivery) answers as before; a new one finds nothing to delete.
    assert _apply(applier, DeleteSavedSession(path=SESSION), "del").applied
    again = _apply(applier, DeleteSavedSession(path=SESSION), "del-2")
    assert again.reason == f"{SESSION} does not exist"


@pytest.mark.parametrize(
    "path",
    ["knowledge/contacts.md", "identity.md", "shortterm/current.md", "shortterm/archive/../../identity.md"],
)
def test_only_saved_sessions_may_be_deleted(applier: MemoryApplier, path: str) -> None:
    outcome = _apply(applier, DeleteSavedSession(path=path), "del")
    assert not outcome.applied
    assert outcome.reason is not None and "shortterm/archive/" in outcome.reason
    if path == "identity.md":
        assert applier.directory("tanaka").exists("identity.md")


def test_old_turns_leave_the_archive_and_the_rest_stays_byte_for_byte(applier: MemoryApplier) -> None:
    cutoff = datetime(2026, 1, 1, tzinfo=UTC)
    old, kept = _turn(1, cutoff - timedelta(seconds=1)), _turn(2, cutoff)
    applier.directory("tanaka").write(ARCHIVE, old + kept + b"garbage\n")
    outcome = _apply(applier, TrimConversationArchive(path=ARCHIVE, before=cutoff), "trim")
    assert outcome.applied and outcome.paths == (ARCHIVE,)
    assert applier.directory("tanaka").read_bytes(ARCHIVE) == kept + b"garbage\n"
    # Trimming with the same cut-off again changes nothing.
    assert _apply(applier, TrimConversationArchive(path=ARCHIVE, before=cutoff), "trim-2").paths == ()


@pytest.mark.parametrize(
    ("path", "before", "reason"),
    [
        ("state/conversations/boss.json", AT, "only conversation archives"),
        ("knowledge/contacts.md", AT, "only conversation archives"),
        ("state/conversations/nobody.archive.jsonl", AT, "does not exist"),
        (ARCHIVE, datetime(2026, 1, 1), "needs a time zone"),
    ],
)
def test_a_trim_is_refused_with_the_reason(
    applier: MemoryApplier, path: str, before: datetime, reason: str
) -> None:
    applier.directory("tanaka").write(ARCHIVE, _turn(1, AT))
    outcome = _apply(applier, TrimConversationArchive(path=path, before=before), "trim")
    assert outcome.reason is not None and reason in outcome.reason
