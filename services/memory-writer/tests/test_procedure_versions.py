"""A revised procedure's earlier versions are archived, the newest five kept (reconsolidation)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from animas_contracts import AnimaCreated, MemoryOpRequested, WriteProcedure
from animas_core.anima_files import AnimaSpec, template_files
from animas_core.config import CachedConfig
from animas_core.home import Home
from animas_memory_writer.adapters.procedure_versions import KEEP_VERSIONS, version_folder
from animas_memory_writer.applier import MemoryApplier

AT = datetime(2026, 2, 12, 14, 30, tzinfo=UTC)
ENV: dict[str, Any] = {"anima": "tanaka", "correlation_id": "c", "producer": "test", "ts": AT}
PATH = "procedures/deploy.md"


def _applier(tmp_path: Path) -> MemoryApplier:
    applier = MemoryApplier(Home(tmp_path), CachedConfig(tmp_path / "config.json"))
    files = template_files(AnimaSpec(name="tanaka", role="engineer"), "engineer")
    created = applier.apply(AnimaCreated(id="create", source="template:engineer", files=files, **ENV))
    assert created is not None and created.applied
    return applier


def _revise(applier: MemoryApplier, n: int) -> tuple[str, ...]:
    op = WriteProcedure(path=PATH, content=f"# Deploy\n\nstep {n}\n")
    outcome = applier.apply(MemoryOpRequested(id=f"p{n}", op=op, **ENV))
    assert outcome is not None and outcome.applied, outcome
    return outcome.paths


def test_a_revision_archives_the_version_it_replaces(tmp_path: Path) -> None:
    applier = _applier(tmp_path)
    assert _revise(applier, 1) == (PATH,)  # a new procedure has nothing to archive
    folder = version_folder(PATH)
    assert folder == "archive/procedure_versions/deploy/"
    first = applier.directory("tanaka").read_text(PATH)

    assert _revise(applier, 2) == (PATH, f"{folder}v1.md")
    assert applier.directory("tanaka").read_text(f"{folder}v1.md") == first
    assert "version: 2" in (applier.directory("tanaka").read_text(PATH) or "")


def test_only_the_newest_five_versions_are_kept(tmp_path: Path) -> None:
    applier = _applier(tmp_path)
    for n in range(1, 9):
        _revise(applier, n)
    real = tmp_path / "animas" / "tanaka" / version_folder(PATH)
    kept = sorted(p.name for p in real.iterdir())
    assert len(kept) == KEEP_VERSIONS
    assert kept == ["v3.md", "v4.md", "v5.md", "v6.md", "v7.md"]
    assert "step 7" in (real / "v7.md").read_text()


def test_a_redelivered_revision_archives_and_bumps_once(tmp_path: Path) -> None:
    applier = _applier(tmp_path)
    _revise(applier, 1)
    _revise(applier, 2)
    _revise(applier, 2)  # the same op id again
    text = applier.directory("tanaka").read_text(PATH) or ""
    assert "version: 2" in text
    real = tmp_path / "animas" / "tanaka" / version_folder(PATH)
    assert sorted(p.name for p in real.iterdir()) == ["v1.md"]


def test_a_distilled_procedure_starts_at_its_given_confidence_and_revisions_measure_it(
    tmp_path: Path,
) -> None:
    applier = _applier(tmp_path)
    op = WriteProcedure(path=PATH, content="# Deploy\n", confidence=0.4)
    assert (outcome := applier.apply(MemoryOpRequested(id="d1", op=op, **ENV))) and outcome.applied
    assert "confidence: 0.40" in (applier.directory("tanaka").read_text(PATH) or "")
    _revise(applier, 2)  # no outcomes yet: the measure with no evidence
    assert "confidence: 0.50" in (applier.directory("tanaka").read_text(PATH) or "")
