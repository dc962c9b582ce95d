"""Procedures that learn, the pure part: distil, revise, propose as a skill (issue #13 item 4)."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pytest

from animas_consolidator.domain.decisions import InvalidAnswer
from animas_consolidator.domain.procedures import (
    PITFALLS_HEADING,
    Procedure,
    distil,
    failure_notes,
    needs_revision,
    procedure_text,
    procedures,
    resolved_on,
    revision,
    skill_proposal,
    skill_worthy,
    with_pitfalls,
)
from animas_consolidator.domain.revision_prompt import parse_revision, revision_messages
from animas_contracts import MetaRecord, TaskRecord, TaskRelation, TaskState, WriteFile, WriteProcedure

TOKYO = ZoneInfo("Asia/Tokyo")
DAY = date(2026, 11, 20)
ROLLBACK = "---\nversion: 1\nfailure_count: 0\nsuccess_count: 0\n---\n\n# Roll back a deploy\n\n1. revert\n"


def _task(
    task_id: str, title: str, state: TaskState = TaskState.DONE, at: str = "2026-11-20T03:00:00+00:00"
) -> TaskRecord:
    return TaskRecord(
        task_id=task_id,
        title=title,
        detail="Restarted the worker after clearing the queue.",
        relation=TaskRelation.OWN,
        state=state,
        counterpart=None,
        created_at="2026-11-19T00:00:00+00:00",
        updated_at=at,
    )


def test_only_tasks_done_on_the_day_in_the_anima_zone_are_resolved() -> None:
    tasks = [
        _task("a", "Fix the stuck queue"),
        _task("b", "Open", state=TaskState.IN_PROGRESS),
        _task("c", "Late in UTC, next day in Tokyo", at="2026-11-20T16:00:00+00:00"),
        _task("d", "Late on the 19th in UTC, the 20th in Tokyo", at="2026-11-19T20:00:00+00:00"),
        _task("e", "garbled", at="yesterday"),
    ]
    assert [t.task_id for t in resolved_on(tasks, DAY, TOKYO)] == ["a", "d"]


def test_a_resolved_task_becomes_a_procedure_unless_a_near_identical_one_exists() -> None:
    task = _task("t1", "Fix the stuck queue")
    ops, skips = distil([task], [], DAY.isoformat())
    (op,) = ops
    assert op.action == "procedure" and isinstance(op.op, WriteProcedure)
    assert op.op.path == "procedures/fix-the-stuck-queue.md"
    assert "Restarted the worker after clearing the queue." in op.op.content and skips == []

    same = Procedure("procedures/queue.md", procedure_text(task, "2026-11-01"))
    ops, skips = distil([task], [same], DAY.isoformat())
    assert ops == [] and skips == ["resolved task t1: procedures/queue.md already describes it"]


def test_two_different_tasks_of_the_same_title_get_two_files() -> None:
    first, second = _task("t1", "Fix it"), _task("t2", "Fix it")
    second = TaskRecord(**{**{f: getattr(second, f) for f in second.__struct_fields__}, "detail": "x y z"})
    ops, _ = distil([first, second], [], DAY.isoformat())
    assert [o.op.path for o in ops] == ["procedures/fix-it.md", "procedures/fix-it-2.md"]


def test_outcome_counts_come_from_the_statistics() -> None:
    stats = [MetaRecord(path="procedures/rollback.md", success_count=1, failure_count=3)]
    (p,) = procedures({"procedures/rollback.md": ROLLBACK}, stats)
    assert (p.successes, p.failures, p.version) == (1, 3, 1)
    assert p.confidence == pytest.approx(2 / 6)


def test_two_failures_since_the_version_was_written_and_low_confidence_mean_a_revision() -> None:
    assert not needs_revision(Procedure("procedures/r.md", ROLLBACK, failures=1))
    assert needs_revision(Procedure("procedures/r.md", ROLLBACK, failures=2))
    # Confidence 0.6 or more: the failures are outweighed by successes.
    assert not needs_revision(Procedure("procedures/r.md", ROLLBACK, successes=6, failures=2))
    # Revised already at 2 failures: only new failures count.
    revised = ROLLBACK.replace("failure_count: 0", "failure_count: 2").replace("version: 1", "version: 2")
    assert not needs_revision(Procedure("procedures/r.md", revised, failures=3))
    assert needs_revision(Procedure("procedures/r.md", revised, failures=4))


def test_failure_notes_are_the_latest_ones_of_this_version() -> None:
    p = Procedure("procedures/r.md", ROLLBACK, failures=2)
    lines = [
        ("episodes/2026-11-20.md", 9, "## 10:00 Procedure failed: procedures/r.md — the revert hit a lock"),
        ("episodes/2026-11-19.md", 3, "## 09:00 Procedure failed: procedures/r.md — no note of this version"),
        ("episodes/2026-11-19.md", 5, "## 09:30 Procedure failed: procedures/r.md"),
        ("episodes/2026-11-19.md", 7, "## 09:40 Procedure failed: procedures/other.md — not this one"),
    ]
    assert failure_notes(p, lines) == ["(no note)", "the revert hit a lock"]


def test_the_fallback_revision_appends_known_pitfalls_once() -> None:
    body = "# Roll back\n\n1. revert\n"
    once = with_pitfalls(body, ["the revert hit a lock", "  the  cache was stale "])
    assert (
        once
        == f"# Roll back\n\n1. revert\n\n{PITFALLS_HEADING}\n- the revert hit a lock\n- the cache was stale\n"
    )
    again = with_pitfalls(once, ["the cache was stale", "DNS"])
    assert again.count(PITFALLS_HEADING) == 1 and again.endswith("- the cache was stale\n- DNS\n")
    op = revision(Procedure("procedures/r.md", ROLLBACK), once)
    assert op.action == "revise" and op.op.path == "procedures/r.md" and op.op.content == once


def test_three_successes_and_high_confidence_are_a_skill_proposal_a_person_acts_on() -> None:
    assert not skill_worthy(Procedure("procedures/r.md", ROLLBACK, successes=2))
    assert not skill_worthy(Procedure("procedures/r.md", ROLLBACK, successes=3, failures=1))  # 0.67
    worthy = Procedure("procedures/r.md", ROLLBACK, successes=3)
    assert skill_worthy(worthy)
    op = skill_proposal(worthy, DAY.isoformat())
    assert op.action == "propose_skill" and isinstance(op.op, WriteFile)
    assert op.op.path == "state/skill_proposals/r.md"
    assert "copy the procedure below to `skills/r.md`" in op.op.content
    assert "3 successes, 0 failures, confidence 0.80" in op.op.content
    assert op.op.content.endswith("# Roll back a deploy\n\n1. revert\n")


def test_the_revision_prompt_carries_the_notes_and_the_answer_is_validated() -> None:
    p = Procedure("procedures/r.md", ROLLBACK, failures=2)
    messages = revision_messages("ops", p, ["the revert hit a lock"])
    assert (
        "- the revert hit a lock" in messages[1]["content"]
        and "# Roll back a deploy" in messages[1]["content"]
    )
    assert parse_revision('Sure: {"content": "# Roll back\\n\\n1. wait for the lock"}') == (
        "# Roll back\n\n1. wait for the lock\n"
    )
    for bad in ("no json", '{"content": ""}', '{"content": "no heading"}', '{"text": "# x"}', "{oops}"):
        with pytest.raises(InvalidAnswer):
            parse_revision(bad)


def test_two_unrelated_tasks_are_not_duplicates_for_sharing_the_procedure_template() -> None:
    keys = _task("t1", "Rotate the API keys")
    deploy = TaskRecord(
        **{**{f: getattr(keys, f) for f in keys.__struct_fields__}, "task_id": "t2", "title": "Roll back"}
    )
    deploy = TaskRecord(
        **{**{f: getattr(deploy, f) for f in deploy.__struct_fields__}, "detail": "git revert"}
    )
    ops, skips = distil([keys, deploy], [], DAY.isoformat())
    assert len(ops) == 2 and skips == []


def test_a_task_is_distilled_once_even_after_its_procedure_was_revised() -> None:
    task = _task("t1", "Fix the stuck queue")
    (op,) = distil([task], [], DAY.isoformat())[0]
    assert op.op.description == "Fix the stuck queue (from task t1)" and op.op.confidence == 0.4
    revised = f'---\ndescription: "{op.op.description}"\nversion: 2\n---\n\n# Something else entirely\n'
    ops, skips = distil([task], [Procedure(op.op.path, revised)], DAY.isoformat())
    assert ops == [] and skips == [f"resolved task t1: distilled already into {op.op.path}"]
