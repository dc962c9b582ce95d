"""Resolved tasks as source lines of the day: which tasks count, how they read, and that they can be cited."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from animas_consolidator.domain import day_decision
from animas_consolidator.domain.day_decision import DayInputs
from animas_consolidator.domain.decisions import Create
from animas_consolidator.domain.sources import SourceKind
from animas_consolidator.domain.task_sources import task_lines
from animas_contracts import TaskRecord, TaskRelation, TaskState

TOKYO = ZoneInfo("Asia/Tokyo")
DAY = date(2026, 12, 6)


def _task(task_id: str, state: TaskState, updated_at: str, detail: str = "") -> TaskRecord:
    return TaskRecord(
        task_id=task_id,
        title=f"Task  {task_id}",
        detail=detail,
        relation=TaskRelation.OWN,
        state=state,
        counterpart=None,
        created_at="2026-12-01T00:00:00+00:00",
        updated_at=updated_at,
    )


def test_only_tasks_done_or_failed_that_day_in_the_animas_zone_are_sources() -> None:
    tasks = [
        _task("b-failed", TaskState.FAILED, "2026-12-06T14:59:00+00:00", "the vendor\nnever answered"),
        _task("a-done", TaskState.DONE, "2026-12-05T15:00:00+00:00"),  # 00:00 on the 6th in Tokyo
        _task("c-next-day", TaskState.DONE, "2026-12-06T15:00:00+00:00"),
        _task("d-open", TaskState.IN_PROGRESS, "2026-12-06T03:00:00+00:00"),
        _task("e-cancelled", TaskState.CANCELLED, "2026-12-06T03:00:00+00:00"),
        _task("f-garbled", TaskState.DONE, "yesterday"),
    ]
    lines = task_lines(tasks, DAY, TOKYO)
    assert [(line.ref, line.text) for line in lines] == [
        ("tasks/a-done", "Task done: Task a-done"),
        ("tasks/b-failed", "Task failed: Task b-failed — the vendor never answered"),
    ]
    assert {line.kind for line in lines} == {SourceKind.TASK}


def test_a_decision_may_cite_a_resolved_task_and_the_fallback_learns_its_lesson() -> None:
    (line,) = task_lines(
        [_task("t1", TaskState.DONE, "2026-12-06T03:00:00+00:00", "Lesson: confirm the venue a day ahead")],
        DAY,
        TOKYO,
    )
    inputs = DayInputs("aoi", DAY.isoformat(), (line,), (), {}, None)
    decisions = day_decision.fallback(inputs)
    accepted, rejections = day_decision.checked(inputs, decisions)
    assert rejections == []
    created = [d for d in accepted if isinstance(d, Create)]
    assert [(d.content, [c.ref for c in d.citations]) for d in created] == [
        ("confirm the venue a day ahead", ["tasks/t1"])
    ]
    restored = DayInputs.from_builtins(inputs.to_builtins())
    assert restored.sources == inputs.sources
