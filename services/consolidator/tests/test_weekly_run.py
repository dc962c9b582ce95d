"""A weekly run through the due handler: what it records, and a rerun that carries out the recorded plan."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from animas_consolidator.daily import DailyRun
from animas_consolidator.domain.episodes import Entry, render
from animas_consolidator.domain.model_choice import ModelTarget
from animas_consolidator.handlers import DueHandler
from animas_consolidator.ports import ModelAnswer, OpOutcome
from animas_consolidator.run_frame import RunPorts
from animas_consolidator.weekly import WeeklyRun
from animas_contracts import (
    ConsolidationDue,
    ConsolidationFinished,
    ConsolidationKind,
    ConsolidationPlanned,
    ConsolidationStarted,
    Event,
    MemoryOpRequested,
    encode_event,
)
from animas_core.config import AnimaWorksConfig, CachedConfig, ConsolidationConfig, write_config
from animas_core.faults import FaultPoints

DAY = "2026-12-07"


def _episode_file(day: str) -> str:
    fields = {"Trigger": "Heartbeat", "Decision": "checked the deploy logs, all green", "Result": "done"}
    entries = [render(Entry(f"1{n}:00", "Heartbeat", {**fields, "Lesson": "None"}, 0, "")) for n in range(3)]
    return f"# {day} Action Log\n" + "".join(f"\n{e}\n" for e in entries)


FILES = {"status.json": "{}"} | {
    f"episodes/2026-12-0{d}.md": _episode_file(f"2026-12-0{d}") for d in range(1, 8)
}


@dataclasses.dataclass
class Memory:
    files: dict[str, str]

    async def read(self, anima: str, path: str) -> str | None:
        return self.files.get(path)

    async def listing(self, anima: str, path: str) -> list[str]:
        return sorted({p[len(path) :].split("/")[0] for p in self.files if p.startswith(path)})

    async def tree(self, anima: str) -> dict[str, str]:
        return {p: "digest" for p in self.files if p.startswith(("knowledge/", "episodes/"))}


class Unused:
    async def knowledge_paths(self, anima: str, text: str, limit: int) -> list[str] | None:
        raise AssertionError("weekly consolidation reads knowledge whole")

    async def ask(self, target: ModelTarget, messages: list[dict[str, str]]) -> ModelAnswer:
        raise AssertionError("weekly consolidation asks no model")


@dataclasses.dataclass
class Bus:
    published: list[Event] = dataclasses.field(default_factory=list)
    recorded_plan: ConsolidationPlanned | None = None

    async def publish(self, event: Event) -> None:
        self.published.append(event)

    async def apply(self, request: MemoryOpRequested) -> OpOutcome:
        self.published.append(request)
        return OpOutcome(applied=True, first_time=True)

    async def plan(self, anima: str, plan_id: str, after_seq: int) -> ConsolidationPlanned | None:
        return self.recorded_plan if self.recorded_plan and self.recorded_plan.id == plan_id else None

    async def put(self, digest: str, data: bytes) -> None: ...

    def of(self, kind: type[Any]) -> list[Any]:
        return [e for e in self.published if isinstance(e, kind)]


@dataclasses.dataclass
class FakeDelivery:
    data: bytes
    deliveries: int = 1
    subject: str = "activity.0.clerk.consolidation.due"
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    stream: str | None = "ACTIVITY"
    stream_seq: int | None = 7

    async def ack(self) -> None: ...
    async def nak(self, delay_s: float) -> None: ...
    async def term(self) -> None: ...
    async def in_progress(self) -> None: ...


def _run(tmp_path: Path, files: dict[str, str], bus: Bus) -> Bus:
    config = tmp_path / "config.json"
    write_config(config, AnimaWorksConfig(consolidation=ConsolidationConfig(episode_summary_after_days=3)))
    ports = RunPorts(
        files=Memory(files),
        search=Unused(),
        model=Unused(),
        ops=bus,
        ledger=bus,
        bodies=bus,
        publisher=bus,
        config=CachedConfig(config),
        faults=FaultPoints(""),
    )
    due = ConsolidationDue(
        id="week-1",
        anima="clerk",
        correlation_id="week-1",
        producer="cli",
        kind=ConsolidationKind.WEEKLY,
        fire_at=datetime(2026, 12, 7, 18, 0, tzinfo=UTC),
        date=DAY,
    )
    delivery = FakeDelivery(encode_event(due), deliveries=2 if bus.recorded_plan else 1)
    asyncio.run(DueHandler(DailyRun(ports), WeeklyRun(ports))(delivery.data, delivery))
    return bus


def test_a_weekly_run_distils_the_routine_summarises_old_days_and_records_its_counts(tmp_path: Path) -> None:
    bus = _run(tmp_path, dict(FILES), Bus())
    (started,) = bus.of(ConsolidationStarted)
    (plan,) = bus.of(ConsolidationPlanned)
    (done,) = bus.of(ConsolidationFinished)
    assert started.kind == "weekly" and started.sources == 7 * 3 * 4  # four field lines per entry
    assert plan.method == "fallback" and plan.fallback_reason == "no model configured"
    assert done.status == "ok" and done.created == 1 and done.summarised == 4 and done.merged == 0
    kinds = [type(request.op).__name__ for request in bus.of(MemoryOpRequested)]
    assert kinds == ["WriteKnowledge"] + ["ArchiveMemory", "AppendEpisode"] * 4


def test_a_rerun_carries_out_the_recorded_plan_under_the_same_ids(tmp_path: Path) -> None:
    first = _run(tmp_path, dict(FILES), Bus())
    (plan,) = first.of(ConsolidationPlanned)
    changed = dict(FILES) | {"episodes/2026-12-01.md": "# gone by now\n"}
    again = _run(tmp_path, changed, Bus(recorded_plan=plan))
    assert again.of(ConsolidationPlanned) == []
    assert [r.id for r in again.of(MemoryOpRequested)] == [r.id for r in first.of(MemoryOpRequested)]


def test_a_weekly_run_for_an_unknown_anima_fails_with_the_reason(tmp_path: Path) -> None:
    bus = _run(tmp_path, {}, Bus())
    (done,) = bus.of(ConsolidationFinished)
    assert done.status == "failed" and done.error == "no anima named 'clerk'" and done.kind == "weekly"
