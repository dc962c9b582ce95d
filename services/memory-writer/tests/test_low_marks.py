"""Low-activity marks of forgetting: kept in anima.db from events, never in the Markdown."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from animas_contracts import (
    AnimaCreated,
    ArchiveMemory,
    ForgettingDownscaled,
    LowActivityMark,
    MemoryAccessed,
    MemoryOpRequested,
    MetaRecord,
    RestoreMemory,
)
from animas_core.anima_files import AnimaSpec, template_files
from animas_core.config import CachedConfig
from animas_core.home import Home
from animas_memory_writer import reads
from animas_memory_writer.applier import MemoryApplier

AT = datetime(2026, 2, 12, 14, 30, tzinfo=UTC)
ENV: dict[str, Any] = {"anima": "tanaka", "correlation_id": "c", "producer": "test", "ts": AT}
KNOWN = "# Printer\n\nThe printer jams on A3.\n"


@pytest.fixture
def applier(tmp_path: Path) -> MemoryApplier:
    a = MemoryApplier(Home(tmp_path), CachedConfig(tmp_path / "config.json"))
    files = {**template_files(AnimaSpec(name="tanaka", role="general"), "general"), "knowledge/p.md": KNOWN}
    outcome = a.apply(AnimaCreated(id="create", source="test", files=files, **ENV))
    assert outcome is not None and outcome.applied
    return a


def _downscaled(event_id: str, *marks: tuple[str, str]) -> ForgettingDownscaled:
    return ForgettingDownscaled(
        id=event_id,
        run_id="run",
        date="2026-05-01",
        marks=[LowActivityMark(path=p, since=s) for p, s in marks],
        **ENV,
    )


def _stats(applier: MemoryApplier) -> dict[str, MetaRecord]:
    return {r.path: r for r in reads.stats(applier.directory("tanaka"))}


def test_a_mark_is_stored_without_touching_the_file(applier: MemoryApplier) -> None:
    assert applier.apply(_downscaled("d1", ("knowledge/p.md", "2026-01-01"), ("../escape.md", "x"))) is None
    assert _stats(applier)["knowledge/p.md"].low_since == "2026-01-01"
    assert "../escape.md" not in _stats(applier) and "escape.md" not in str(_stats(applier))
    assert applier.directory("tanaka").read_text("knowledge/p.md") == KNOWN
    # The same event again (redelivery, rebuild) changes nothing; a later one moves the mark.
    applier.apply(_downscaled("d1", ("knowledge/p.md", "2025-01-01")))
    assert _stats(applier)["knowledge/p.md"].low_since == "2026-01-01"


def test_a_recall_clears_the_mark_and_keeps_the_counts(applier: MemoryApplier) -> None:
    applier.apply(_downscaled("d1", ("knowledge/p.md", "2026-01-01")))
    applier.apply(MemoryAccessed(id="acc", paths=["knowledge/p.md"], **ENV))
    record = _stats(applier)["knowledge/p.md"]
    assert record.low_since is None and record.access_count == 1


def test_archive_drops_the_mark_and_restore_counts_as_a_recall_now(applier: MemoryApplier) -> None:
    applier.apply(_downscaled("d1", ("knowledge/p.md", "2026-01-01")))
    archived = applier.apply(MemoryOpRequested(id="a", op=ArchiveMemory(path="knowledge/p.md"), **ENV))
    assert archived is not None and archived.paths == ("knowledge/p.md", "archive/knowledge/p.md")
    assert all(r.low_since is None for r in _stats(applier).values())
    later = {**ENV, "ts": datetime(2026, 6, 1, 8, 0, tzinfo=UTC)}
    restored = applier.apply(MemoryOpRequested(id="r", op=RestoreMemory(path="knowledge/p.md"), **later))
    assert restored is not None and restored.applied
    record = _stats(applier)["knowledge/p.md"]
    assert record.low_since is None and record.last_access == "2026-06-01T08:00:00+00:00"
    assert applier.directory("tanaka").read_text("knowledge/p.md") == KNOWN


def test_marks_for_an_anima_that_does_not_exist_are_ignored(tmp_path: Path) -> None:
    a = MemoryApplier(Home(tmp_path), CachedConfig(tmp_path / "config.json"))
    assert a.apply(_downscaled("d1", ("knowledge/p.md", "2026-01-01"))) is None
    assert not (tmp_path / "animas" / "tanaka").exists()
