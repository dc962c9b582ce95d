"""memory-writer's applier: every change validated, written once, and reproducible from events."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from animas_contracts import (
    AnimaCreated,
    AnimaFileWritten,
    AnimaStatusChanged,
    AppendEpisode,
    ArchiveMemory,
    CreateTask,
    Event,
    IdentityRevised,
    MarkImportant,
    MemoryAccessed,
    MemoryOp,
    MemoryOpRequested,
    MemoryReadRequest,
    RecordOutcome,
    RestoreMemory,
    TaskState,
    TransitionTask,
    WriteFile,
    WriteKnowledge,
    WriteProcedure,
)
from animas_core.anima_files import AnimaSpec, template_files
from animas_core.config import AnimaWorksConfig, CachedConfig, write_config
from animas_core.home import Home
from animas_memory_writer import reads
from animas_memory_writer.applier import MemoryApplier, Outcome

AT = datetime(2026, 2, 12, 14, 30, tzinfo=UTC)
ENV: dict[str, Any] = {"anima": "tanaka", "correlation_id": "c", "producer": "test", "ts": AT}


def _applier(tmp_path: Path) -> MemoryApplier:
    return MemoryApplier(Home(tmp_path), CachedConfig(tmp_path / "config.json"))


def _created(applier: MemoryApplier, **files: str) -> None:
    base = template_files(AnimaSpec(name="tanaka", role="engineer"), "engineer")
    outcome = applier.apply(
        AnimaCreated(id="create", source="template:engineer", files={**base, **files}, **ENV)
    )
    assert outcome is not None and outcome.applied, outcome


def _op(op: MemoryOp, op_id: str = "op-1") -> MemoryOpRequested:
    return MemoryOpRequested(id=op_id, op=op, **ENV)


def _apply(applier: MemoryApplier, event: Event) -> Outcome:
    outcome = applier.apply(event)
    assert outcome is not None
    return outcome


@pytest.fixture
def applier(tmp_path: Path) -> MemoryApplier:
    a = _applier(tmp_path)
    _created(a)
    return a


def read(applier: MemoryApplier, path: str) -> str | None:
    return applier.directory("tanaka").read_text(path)


def test_creation_lays_out_the_whole_directory(applier: MemoryApplier, tmp_path: Path) -> None:
    root = tmp_path / "animas" / "tanaka"
    for folder in (
        "episodes",
        "knowledge",
        "procedures",
        "skills",
        "state",
        "shortterm",
        "transcripts",
        "assets",
    ):
        assert (root / folder).is_dir()
    for name in ("identity.md", "injection.md", "permissions.md", "heartbeat.md", "cron.md", "status.json"):
        assert (root / name).is_file()


def test_creating_twice_is_refused(applier: MemoryApplier) -> None:
    again = applier.apply(
        AnimaCreated(id="create-2", source="blank", files={"identity.md": "x", "status.json": "{}"}, **ENV)
    )
    assert again is not None and "already exists" in (again.reason or "")


def test_an_episode_is_appended_in_the_seed_format(applier: MemoryApplier) -> None:
    op = AppendEpisode(
        title="Reply to Tanaka-san", at=AT, trigger="Message received", decision="formal", result="Approved"
    )
    assert _apply(applier, _op(op)).paths == ("episodes/2026-02-12.md",)
    assert read(applier, "episodes/2026-02-12.md") == (
        "# 2026-02-12 Action Log\n\n## 14:30 Reply to Tanaka-san\n- Trigger: Message received\n"
        "- Decision: formal\n- Result: Approved\n- Lesson: None\n"
    )


def test_the_same_operation_twice_is_applied_once(applier: MemoryApplier) -> None:
    op = _op(AppendEpisode(title="Once", at=AT, trigger="t", decision="d", result="r"))
    first, second = _apply(applier, op), _apply(applier, op)
    assert first == second
    assert read(applier, "episodes/2026-02-12.md").count("## 14:30 Once") == 1  # type: ignore[union-attr]


def test_an_operation_interrupted_after_its_write_is_not_written_again(applier: MemoryApplier) -> None:
    event = _op(WriteProcedure(path="procedures/deploy.md", content="1. build"), "proc")
    db = applier.db("tanaka")
    db.begin_op("proc", "procedure.write", "procedures/deploy.md", None)  # the crash came after this…
    applier.directory("tanaka").write(
        "procedures/deploy.md", b"---\nversion: 1\n---\n\n1. build\n"
    )  # …and the write
    assert _apply(applier, event).applied
    assert "version: 1" in read(applier, "procedures/deploy.md")  # type: ignore[operator]


def test_knowledge_has_frontmatter_and_keeps_created(applier: MemoryApplier) -> None:
    _apply(
        applier,
        _op(
            WriteKnowledge(
                path="knowledge/rules.md", content="# Rules\n- formal", frontmatter={"topic": "tone"}
            ),
            "k1",
        ),
    )
    later = MemoryOpRequested(
        id="k2",
        op=WriteKnowledge(path="knowledge/rules.md", content="# Rules\n- very formal"),
        **{**ENV, "ts": AT.replace(hour=15)},
    )
    _apply(applier, later)
    assert read(applier, "knowledge/rules.md") == (
        "---\ncreated: 2026-02-12T14:30:00+00:00\ntopic: tone\n"
        "updated: 2026-02-12T15:30:00+00:00\n---\n\n# Rules\n- very formal\n"
    )


def test_procedures_count_versions_and_outcomes(applier: MemoryApplier) -> None:
    _apply(applier, _op(WriteProcedure(path="procedures/deploy.md", content="1. build"), "p1"))
    _apply(applier, _op(RecordOutcome(path="procedures/deploy.md", success=True), "o1"))
    _apply(applier, _op(RecordOutcome(path="procedures/deploy.md", success=False), "o2"))
    _apply(applier, _op(WriteProcedure(path="procedures/deploy.md", content="1. build\n2. test"), "p2"))
    text = read(applier, "procedures/deploy.md") or ""
    assert "version: 2" in text and "success_count: 1" in text and "failure_count: 1" in text
    assert "confidence: 0.50" in text
    meta = applier.db("tanaka").meta("procedures/deploy.md")
    assert (meta.success_count, meta.failure_count) == (1, 1)


def test_important_marks_and_metadata(applier: MemoryApplier) -> None:
    _apply(
        applier, _op(WriteKnowledge(path="knowledge/rules.md", content="- Always be formal\n- Be brief"), "k")
    )
    _apply(applier, _op(MarkImportant(path="knowledge/rules.md", text="Always be formal"), "m"))
    assert "- [IMPORTANT] Always be formal\n- Be brief" in (read(applier, "knowledge/rules.md") or "")
    assert applier.db("tanaka").meta("knowledge/rules.md").importance == "important"


def test_archive_and_restore_move_the_file_and_its_metadata(applier: MemoryApplier) -> None:
    _apply(applier, _op(WriteKnowledge(path="knowledge/old.md", content="old"), "k"))
    applier.apply(MemoryAccessed(id="acc", paths=["knowledge/old.md"], **ENV))
    _apply(applier, _op(ArchiveMemory(path="knowledge/old.md"), "a"))
    assert read(applier, "knowledge/old.md") is None and read(applier, "archive/knowledge/old.md")
    assert applier.db("tanaka").meta("archive/knowledge/old.md").access_count == 1
    _apply(applier, _op(RestoreMemory(path="knowledge/old.md"), "r"))
    assert (
        read(applier, "knowledge/old.md") and applier.db("tanaka").meta("knowledge/old.md").access_count == 1
    )


@pytest.mark.parametrize(
    "path", ["../escape.md", "knowledge/../../escape.md", "/etc/passwd", "knowledge/\x00.md"]
)
def test_paths_that_escape_are_rejected(applier: MemoryApplier, tmp_path: Path, path: str) -> None:
    outcome = _apply(applier, _op(WriteFile(path=path, content="x")))
    assert not outcome.applied and outcome.reason
    assert not (tmp_path / "animas" / "escape.md").exists() and not (tmp_path / "escape.md").exists()


def test_a_symlink_pointing_outside_is_rejected(applier: MemoryApplier, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, tmp_path / "animas" / "tanaka" / "knowledge" / "link")
    outcome = _apply(applier, _op(WriteKnowledge(path="knowledge/link/secret.md", content="x")))
    assert "outside the anima directory" in (outcome.reason or "")
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("identity.md", "write boundary"),
        ("permissions.md", "protected"),
        ("cron.md", "protected"),
        ("status.json", "protected"),
        ("activity_log/2026-02-12.jsonl", "maintained by memory-writer"),
        ("random/place.md", "must be under"),
    ],
)
def test_a_cycle_cannot_write_protected_or_derived_files(
    applier: MemoryApplier, path: str, reason: str
) -> None:
    before = read(applier, path)
    outcome = _apply(applier, _op(WriteFile(path=path, content="hacked")))
    assert reason in (outcome.reason or "")
    assert read(applier, path) == before


def test_a_grant_lets_a_cycle_change_its_own_cron(tmp_path: Path) -> None:
    applier = _applier(tmp_path)
    base = template_files(AnimaSpec(name="tanaka", role="engineer"), "engineer")
    permissions = base["permissions.md"].replace(
        "## Self-Modifiable Files\n- (none)", "## Self-Modifiable Files\n- cron.md"
    )
    assert permissions != base["permissions.md"]
    _created(applier, **{"permissions.md": permissions})
    assert _apply(applier, _op(WriteFile(path="cron.md", content="# Cron: tanaka\n"))).applied
    assert not _apply(applier, _op(WriteFile(path="heartbeat.md", content="x"), "op-2")).applied


def test_people_and_consolidation_change_what_cycles_cannot(applier: MemoryApplier) -> None:
    assert _apply(applier, AnimaFileWritten(id="h1", path="permissions.md", content="# P\n", **ENV)).applied
    assert _apply(
        applier, IdentityRevised(id="i1", content="# Identity: tanaka\n", author="consolidation", **ENV)
    ).applied
    assert read(applier, "identity.md") == "# Identity: tanaka\n"
    refused = _apply(applier, AnimaFileWritten(id="h2", path="identity.md", content="x", **ENV))
    assert "identity.revised" in (refused.reason or "")


def test_status_changes_merge(applier: MemoryApplier) -> None:
    _apply(applier, AnimaStatusChanged(id="s", changes={"enabled": False, "supervisor": None}, **ENV))
    status = json.loads(read(applier, "status.json") or "{}")
    assert status["enabled"] is False and "supervisor" not in status and status["role"] == "engineer"


def test_task_state_machine_and_rendered_views(applier: MemoryApplier) -> None:
    _apply(applier, _op(CreateTask(task_id="t1", title="Write the report", counterpart="sato"), "c1"))
    _apply(applier, _op(CreateTask(task_id="t2", title="Review PR"), "c2"))
    _apply(applier, _op(TransitionTask(task_id="t1", to=TaskState.IN_PROGRESS), "x1"))
    assert "- [in_progress] Write the report" in (read(applier, "state/current_task.md") or "")
    _apply(applier, _op(TransitionTask(task_id="t1", to=TaskState.DONE), "x2"))
    illegal = _apply(applier, _op(TransitionTask(task_id="t1", to=TaskState.IN_PROGRESS), "x3"))
    assert illegal.reason == "task is done, a final state; it cannot move to in_progress"
    pending = read(applier, "state/pending.md") or ""
    assert "Review PR" in pending and "Write the report" not in pending
    assert "No task in progress." in (read(applier, "state/current_task.md") or "")
    assert "already exists" in (
        _apply(applier, _op(CreateTask(task_id="t2", title="again"), "c3")).reason or ""
    )
    # The list_tasks tool reads the store through memory-writer's read server, read-only.
    listed = reads.read(applier.directory("tanaka"), MemoryReadRequest(op="tasks")).tasks
    assert [(t.task_id, t.state, t.counterpart) for t in listed] == [
        ("t1", TaskState.DONE, "sato"),
        ("t2", TaskState.PENDING, None),
    ]


def test_operations_on_an_unknown_anima_are_rejected(tmp_path: Path) -> None:
    outcome = _apply(_applier(tmp_path), _op(WriteKnowledge(path="knowledge/x.md", content="x")))
    assert outcome.reason == "there is no anima named 'tanaka'"


def test_replaying_the_same_events_reproduces_the_same_bytes(tmp_path: Path) -> None:
    events: list[Event] = [
        AnimaCreated(
            id="create",
            source="template:engineer",
            files=template_files(AnimaSpec(name="tanaka", role="engineer"), "engineer"),
            **ENV,
        ),
        _op(AppendEpisode(title="A", at=AT, trigger="t", decision="d", result="r"), "e1"),
        _op(WriteKnowledge(path="knowledge/k.md", content="- fact"), "k1"),
        _op(MarkImportant(path="knowledge/k.md", text="fact"), "m1"),
        _op(WriteProcedure(path="procedures/p.md", content="1."), "p1"),
        _op(CreateTask(task_id="t", title="T"), "t1"),
        _op(ArchiveMemory(path="knowledge/k.md"), "a1"),
    ]

    def build(root: Path) -> dict[str, bytes]:
        applier = _applier(root)
        for event in events:
            applier.apply(event)
        applier.close()
        base = root / "animas" / "tanaka"
        return {
            p.relative_to(base).as_posix(): p.read_bytes()
            for p in sorted(base.rglob("*"))
            if p.is_file() and "anima.db" not in p.name
        }

    assert build(tmp_path / "one") == build(tmp_path / "two")


def test_a_time_zone_change_applies_to_the_next_entries(applier: MemoryApplier) -> None:
    late = AT.replace(hour=23, minute=30)
    _apply(applier, _op(AppendEpisode(title="Late", at=late, trigger="t", decision="d", result="r"), "e1"))
    assert read(applier, "episodes/2026-02-12.md")
    _apply(applier, AnimaStatusChanged(id="tz", changes={"timezone": "Asia/Tokyo"}, **ENV))
    _apply(applier, _op(AppendEpisode(title="Later", at=late, trigger="t", decision="d", result="r"), "e2"))
    assert "08:30 Later" in (read(applier, "episodes/2026-02-13.md") or "")


def test_the_zone_config_gives_an_anima_dates_its_day_files(applier: MemoryApplier, tmp_path: Path) -> None:
    # The scheduler and priming read an anima's zone from config's `animas` too (anima_zone):
    # memory-writer must date its day files the same way, or "today" means two different files.
    config = AnimaWorksConfig.model_validate({"animas": {"tanaka": {"timezone": "Asia/Tokyo"}}})
    write_config(tmp_path / "config.json", config)
    late = AT.replace(hour=23, minute=30)
    _apply(applier, _op(AppendEpisode(title="Late", at=late, trigger="t", decision="d", result="r"), "e1"))
    assert "08:30 Late" in (read(applier, "episodes/2026-02-13.md") or "")
    assert applier.timezone("tanaka") == "Asia/Tokyo"
