"""Hand edits found by the scan: every change is seen, and an unchanged file is not read again."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from animas_contracts import AnimaCreated
from animas_core.anima_files import AnimaSpec, template_files
from animas_core.config import CachedConfig
from animas_core.home import Home
from animas_memory_writer.applier import MemoryApplier
from animas_memory_writer.watcher import Stamps, find_edits

AT = datetime(2026, 2, 12, 14, 30, tzinfo=UTC)


@pytest.fixture
def applier(tmp_path: Path) -> MemoryApplier:
    applier = MemoryApplier(Home(tmp_path), CachedConfig(tmp_path / "config.json"))
    files = template_files(AnimaSpec(name="tanaka", role="engineer"), "engineer")
    created = AnimaCreated(
        id="create",
        source="template:engineer",
        files=files,
        anima="tanaka",
        correlation_id="c",
        producer="t",
        ts=AT,
    )
    outcome = applier.apply(created)
    assert outcome is not None and outcome.applied
    return applier


def _reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the files read from now on."""
    reads: list[str] = []
    original = Path.read_bytes

    def counted(path: Path) -> bytes:
        reads.append(path.name)
        return original(path)

    monkeypatch.setattr(Path, "read_bytes", counted)
    return reads


def test_an_unchanged_file_is_not_read_twice(applier: MemoryApplier, monkeypatch: pytest.MonkeyPatch) -> None:
    stamps: Stamps = {}
    assert find_edits(applier, "tanaka", stamps) == []
    assert "identity.md" in stamps

    reads = _reads(monkeypatch)
    assert find_edits(applier, "tanaka", stamps) == []
    assert reads == []


def test_a_change_is_found_even_with_the_old_size_and_modification_time(
    applier: MemoryApplier, tmp_path: Path
) -> None:
    stamps: Stamps = {}
    find_edits(applier, "tanaka", stamps)
    injection = tmp_path / "animas" / "tanaka" / "injection.md"
    before = injection.stat()
    text = injection.read_text()
    changed = text[:-1] + ("x" if text[-1] != "x" else "y")
    # The kernel stamps change times at its clock tick (a few ms): write until the tick has moved,
    # as it has for any edit a person makes after memory-writer's own write.
    deadline = time.monotonic() + 5
    while injection.stat().st_ctime_ns == before.st_ctime_ns and time.monotonic() < deadline:
        injection.write_text(changed)
    os.utime(injection, ns=(before.st_atime_ns, before.st_mtime_ns))  # a person hiding the edit
    assert injection.stat().st_size == before.st_size and injection.stat().st_mtime_ns == before.st_mtime_ns

    edits = find_edits(applier, "tanaka", stamps)

    assert [(e.path, e.content) for e in edits] == [("injection.md", changed)]


def test_new_and_deleted_files_are_found_and_forgotten(applier: MemoryApplier, tmp_path: Path) -> None:
    stamps: Stamps = {}
    find_edits(applier, "tanaka", stamps)
    root = tmp_path / "animas" / "tanaka"
    (root / "knowledge" / "tea.md").write_text("Tanaka likes tea.\n")
    (root / "cron.md").unlink()

    edits = find_edits(applier, "tanaka", stamps)

    assert {(e.path, e.content) for e in edits} == {
        ("knowledge/tea.md", "Tanaka likes tea.\n"),
        ("cron.md", None),
    }
    assert "cron.md" not in stamps and "knowledge/tea.md" in stamps
