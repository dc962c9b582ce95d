"""A weekly run through the due handler: what it records, and a rerun that carries out the recorded plan."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from animas_consolidator.daily import DailyRun
from animas_consolidator.domain.episodes import Entry, render
from animas_consolidator.domain.model_choice import ModelTarget
from animas_consolidator.forgetting import Forgetting
from animas_consolidator.handlers import DueHandler
from animas_consolidator.ports import ModelAnswer, ModelCallFailed, OpOutcome
from animas_consolidator.run_frame import RunPorts
from animas_consolidator.weekly import WeeklyRun
from animas_contracts import (
    AppendEpisode,
    ConsolidationDue,
    ConsolidationFinished,
    ConsolidationKind,
    ConsolidationPlanned,
    ConsolidationStarted,
    Event,
    IdentityRevised,
    LlmCalled,
    MemoryOpRequested,
    MetaRecord,
    TokenUsage,
    encode_event,
)
from animas_core.config import (
    AnimaModelConfig,
    AnimaWorksConfig,
    CachedConfig,
    ConsolidationConfig,
    Credential,
    write_config,
)
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
        raise AssertionError("no model is configured: none may be asked")


@dataclasses.dataclass
class SummarisingModel:
    """Groups each listed file's entries into one, as a model answering the schema would."""

    fail: bool = False
    asked: list[str] = dataclasses.field(default_factory=list)

    async def ask(self, target: ModelTarget, messages: list[dict[str, str]]) -> ModelAnswer:
        user = messages[-1]["content"]
        self.asked.append(user)
        if self.fail:
            raise ModelCallFailed("connection refused")
        days: dict[str, list[str]] = {}
        for ref in re.findall(r"^\[([^\]]+)\]", user, re.MULTILINE):
            days.setdefault(ref.rsplit(":", 1)[0], []).append(ref)
        groups = [
            {
                "path": path,
                "groups": [{"title": "Deploy checks", "summary": "Logs green all day.", "refs": refs}],
            }
            for path, refs in days.items()
        ]
        text = json.dumps({"days": groups})
        return ModelAnswer(text, target.model, {"m": 1}, {"text": text}, TokenUsage())


@dataclasses.dataclass
class Bus:
    published: list[Event] = dataclasses.field(default_factory=list)
    recorded_plan: ConsolidationPlanned | None = None

    async def publish(self, event: Event) -> None:
        self.published.append(event)

    async def apply(self, request: MemoryOpRequested | IdentityRevised) -> OpOutcome:
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


class WithStats(Memory):
    """The anima's files and no access statistics: every knowledge file unread since it was written."""

    async def stats(self, anima: str) -> list[MetaRecord]:
        return []


def _run(
    tmp_path: Path,
    files: dict[str, str],
    bus: Bus,
    model: SummarisingModel | None = None,
    forgetting: Forgetting | None = None,
) -> Bus:
    config = tmp_path / "config.json"
    weekly = ConsolidationConfig(episode_summary_after_days=3)
    if model is None:
        write_config(config, AnimaWorksConfig(consolidation=weekly))
    else:
        write_config(
            config,
            AnimaWorksConfig(
                consolidation=weekly,
                credentials={"scripted": Credential(base_url="http://127.0.0.1:1/v1")},
                anima_defaults=AnimaModelConfig(model="openai/scripted", credential="scripted"),
            ),
        )
    ports = RunPorts(
        files=Memory(files),
        search=Unused(),
        model=model or Unused(),
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
    asyncio.run(DueHandler(DailyRun(ports), WeeklyRun(ports, forgetting))(delivery.data, delivery))
    return bus


def test_a_weekly_run_distils_the_routine_summarises_old_days_and_records_its_counts(tmp_path: Path) -> None:
    bus = _run(tmp_path, dict(FILES), Bus())
    (started,) = bus.of(ConsolidationStarted)
    (plan,) = bus.of(ConsolidationPlanned)
    (done,) = bus.of(ConsolidationFinished)
    assert started.kind == "weekly" and started.sources == 7 * 3 * 4  # four field lines per entry
    assert plan.method == "fallback" and plan.fallback_reason == "no model configured"
    assert done.status == "ok" and done.procedures == 1 and done.summarised == 4
    assert (done.created, done.merged) == (0, 0)
    kinds = [type(request.op).__name__ for request in bus.of(MemoryOpRequested)]
    assert kinds == ["WriteProcedure"] + ["ArchiveMemory", "AppendEpisode"] * 4


def test_low_activity_knowledge_alike_below_the_duplicate_threshold_is_merged_and_counted(
    tmp_path: Path,
) -> None:
    printer = "---\nupdated: 2026-09-01\n---\n\n# Printer\n\n"
    files = dict(FILES) | {
        "knowledge/printer-a.md": printer
        + "The staging printer on floor 3 jams when the paper tray is overfilled.",
        "knowledge/printer-b.md": printer
        + "The printer on floor 3 jams often; do not overfill the paper tray.",
        "knowledge/printer-c.md": printer
        + "[IMPORTANT] The printer on floor 3 jams; never overfill the tray.",
    }
    bus = Bus()
    _run(tmp_path, files, bus, forgetting=Forgetting(WithStats(files), bus, bus))
    (done,) = bus.of(ConsolidationFinished)
    assert done.status == "ok" and done.merged == 1
    ops = [request.op for request in bus.of(MemoryOpRequested)]
    merged = [op for op in ops if getattr(op, "path", "").startswith("knowledge/printer")]
    assert [(type(op).__name__, op.path) for op in merged] == [
        ("WriteKnowledge", "knowledge/printer-a.md"),
        ("ArchiveMemory", "knowledge/printer-b.md"),
    ]


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
    assert (done.status, done.error, done.kind) == ("failed", "no anima named 'clerk'", "weekly")


def test_with_a_model_the_old_days_are_summarised_in_its_words_and_the_call_is_recorded(
    tmp_path: Path,
) -> None:
    model = SummarisingModel()
    bus = _run(tmp_path, dict(FILES), Bus(), model)
    (asked,) = model.asked
    assert "## episodes/2026-12-01.md" in asked and "## episodes/2026-12-05.md" not in asked
    (plan,) = bus.of(ConsolidationPlanned)
    assert plan.method == "model" and plan.model == "openai/scripted" and plan.fallback_reason is None
    (called,) = bus.of(LlmCalled)
    assert called.purpose == "consolidation" and called.error is None
    appends = [r.op for r in bus.of(MemoryOpRequested) if isinstance(r.op, AppendEpisode)]
    assert [a.title for a in appends] == ["Deploy checks (summary of 3 entries, 10:00-12:00)"] * 4
    assert {a.decision for a in appends} == {"Logs green all day."}
    (done,) = bus.of(ConsolidationFinished)
    assert done.summarised == 4 and done.procedures == 1 and done.created == 0


def test_when_the_model_fails_the_old_days_are_collapsed_without_it(tmp_path: Path) -> None:
    bus = _run(tmp_path, dict(FILES), Bus(), SummarisingModel(fail=True))
    (plan,) = bus.of(ConsolidationPlanned)
    assert plan.method == "fallback" and plan.fallback_reason == "the model failed: connection refused"
    (called,) = bus.of(LlmCalled)
    assert called.error == "connection refused"
    appends = [r.op for r in bus.of(MemoryOpRequested) if isinstance(r.op, AppendEpisode)]
    assert [a.title for a in appends] == ["Heartbeat (summary of 3 entries, 10:00-12:00)"] * 4
