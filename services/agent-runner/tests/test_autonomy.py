"""What a heartbeat finds, and what it does not raise twice (the 24-hour notification rule)."""

from __future__ import annotations

import dataclasses
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

from animas_agent_runner.cycle.autonomy import Autonomy, AutonomyPorts
from animas_agent_runner.cycle.runner import CycleRunner
from animas_agent_runner.prompt import PromptTrigger
from animas_contracts import (
    Event,
    HeartbeatDue,
    HeartbeatFinished,
    HeartbeatOutcome,
    MessageReceived,
    TaskRecord,
    TaskRelation,
    TaskState,
)

NOW = datetime(2026, 11, 26, 10, 30, tzinfo=UTC)
HEARTBEAT_MD = (
    "## Execution Interval\nEvery 30 minutes\n\n## Active Hours\n9:00 - 18:00 (UTC)\n\n## Checklist\n- Look\n"
)


class FakeRunner:
    def __init__(self) -> None:
        self.answered: list[tuple[MessageReceived, PromptTrigger | None]] = []

    async def zone_of(self, anima: str) -> ZoneInfo:
        return ZoneInfo("UTC")

    async def answer(
        self, event: MessageReceived, delivery: Any, *, trigger: Any = None, history: bool = True
    ) -> str:
        self.answered.append((event, trigger))
        return "done"


class FakeMemory:
    def __init__(self, tasks: list[TaskRecord]) -> None:
        self.task_rows = tasks

    async def read(self, anima: str, path: str) -> str | None:
        return HEARTBEAT_MD if path == "heartbeat.md" else None

    async def tasks(self, anima: str) -> list[TaskRecord]:
        return self.task_rows


@dataclasses.dataclass
class FakeActivity:
    finished: list[HeartbeatFinished] = dataclasses.field(default_factory=list)

    async def message(self, anima: str, message_id: str, since: datetime) -> MessageReceived | None:
        return None

    async def heartbeats(self, anima: str, since: datetime) -> list[HeartbeatFinished]:
        return [f for f in self.finished if f.ts >= since]


class FakeSink:
    def __init__(self, activity: FakeActivity) -> None:
        self.events: list[Event] = []
        self._activity = activity

    async def publish(self, event: Event) -> None:
        self.events.append(event)
        if isinstance(event, HeartbeatFinished):
            self._activity.finished.append(event)


class FakeLedger:
    async def reply_exists(self, anima: str, reply_id: str, after_seq: int) -> bool:
        return False


def _task(task_id: str, state: TaskState, updated: datetime) -> TaskRecord:
    return TaskRecord(
        task_id=task_id,
        title=f"Task {task_id}",
        detail="",
        relation=TaskRelation.OWN,
        state=state,
        counterpart=None,
        created_at=(updated - timedelta(days=1)).isoformat(),
        updated_at=updated.isoformat(),
    )


def _autonomy(
    tasks: list[TaskRecord], workspace: Path | None = None
) -> tuple[Autonomy, FakeRunner, FakeSink]:
    runner, activity = FakeRunner(), FakeActivity()
    sink = FakeSink(activity)
    ports = AutonomyPorts(
        memory=cast(Any, FakeMemory(tasks)), publisher=sink, activity=activity, ledger=FakeLedger()
    )
    return Autonomy(cast(CycleRunner, runner), ports, workspace), runner, sink


def _due(at: datetime) -> HeartbeatDue:
    return HeartbeatDue(anima="sample", correlation_id="c", producer="scheduler", fire_at=at, ts=at)


def _outcomes(sink: FakeSink) -> list[tuple[HeartbeatOutcome, list[str]]]:
    return [(e.outcome, e.found) for e in sink.events if isinstance(e, HeartbeatFinished)]


async def test_a_blocked_task_wakes_the_model_once_a_day() -> None:
    autonomy, runner, sink = _autonomy([_task("t1", TaskState.BLOCKED, NOW)])

    await autonomy.heartbeat(_due(NOW), cast(Any, None))
    await autonomy.heartbeat(_due(NOW + timedelta(minutes=30)), cast(Any, None))
    await autonomy.heartbeat(_due(NOW + timedelta(hours=24, minutes=30)), cast(Any, None))

    assert _outcomes(sink) == [
        (HeartbeatOutcome.ACTED, ["blocked:t1"]),
        (HeartbeatOutcome.OK, []),
        (HeartbeatOutcome.ACTED, ["blocked:t1"]),
    ]
    assert [trigger for _, trigger in runner.answered] == [PromptTrigger.HEARTBEAT] * 2
    assert 'Task "Task t1" is blocked.' in runner.answered[0][0].text


async def test_a_task_in_progress_that_has_not_moved_for_a_day_is_stale() -> None:
    autonomy, _, sink = _autonomy(
        [
            _task("old", TaskState.IN_PROGRESS, NOW - timedelta(days=2)),
            _task("new", TaskState.IN_PROGRESS, NOW),
        ]
    )

    await autonomy.heartbeat(_due(NOW), cast(Any, None))

    assert _outcomes(sink) == [(HeartbeatOutcome.ACTED, ["stale:old"])]


async def test_a_file_new_since_the_last_heartbeat_is_found(tmp_path: Path) -> None:
    folder = tmp_path / "sample"
    folder.mkdir()
    for name, age in (("report.txt", timedelta(minutes=5)), ("old.txt", timedelta(hours=2))):
        (folder / name).write_text("figures")
        stamp = (NOW - age).timestamp()
        os.utime(folder / name, (stamp, stamp))
    autonomy, runner, sink = _autonomy([], workspace=tmp_path)

    await autonomy.heartbeat(_due(NOW), cast(Any, None))

    [(outcome, found)] = _outcomes(sink)
    assert outcome is HeartbeatOutcome.ACTED and len(found) == 1 and found[0].startswith("file:report.txt:")
    assert "New file: report.txt" in runner.answered[0][0].text


async def test_outside_active_hours_nothing_is_looked_at() -> None:
    autonomy, runner, sink = _autonomy([_task("t1", TaskState.BLOCKED, NOW)])

    await autonomy.heartbeat(_due(NOW.replace(hour=22)), cast(Any, None))

    assert _outcomes(sink) == [(HeartbeatOutcome.OUTSIDE_ACTIVE_HOURS, [])] and not runner.answered
