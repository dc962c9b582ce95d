"""A daily run over in-memory ports: what it asks the model, when it falls back, what it records.

The ports are in-memory stand-ins for memory-writer, priming, the stream and the model; the run
itself (gathering, candidates, decisions, citations, the plan and the records) is the real code.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest

from animas_consolidator.daily import DailyRun, RunPorts
from animas_consolidator.domain.model_choice import ModelTarget
from animas_consolidator.handlers import DueHandler
from animas_consolidator.ports import ModelAnswer, ModelCallFailed, OpOutcome
from animas_consolidator.weekly import WeeklyRun
from animas_contracts import (
    ConsolidationDue,
    ConsolidationFinished,
    ConsolidationKind,
    ConsolidationPlanned,
    ConsolidationStarted,
    Event,
    IdentityRevised,
    LlmCalled,
    MemoryOpRequested,
    TokenUsage,
    WriteKnowledge,
    encode_event,
)
from animas_core.config import AnimaModelConfig, AnimaWorksConfig, CachedConfig, Credential, write_config
from animas_core.faults import FaultPoints

DAY = "2026-12-06"
EPISODES = (
    f"# {DAY} Action Log\n\n## 10:00 Reply to yamada\n- Trigger: Message received (from yamada)\n"
    "- Decision: drafted a reply\n- Result: Replied: Hey Tanaka!\n"
    "- Lesson: Tanaka-san is a client: always use formal business language\n"
)
LESSON_REF = f"episodes/{DAY}.md:7"
LESSON = "Tanaka-san is a client: always use formal business language"


@dataclasses.dataclass
class Memory:
    files: dict[str, str]

    async def read(self, anima: str, path: str) -> str | None:
        return self.files.get(path)

    async def listing(self, anima: str, path: str) -> list[str]:
        return sorted({p[len(path) :].split("/")[0] for p in self.files if p.startswith(path)})

    async def tree(self, anima: str) -> dict[str, str]:
        return {p: "digest" for p in self.files if p.startswith(("knowledge/", "episodes/"))}


class NoSearch:
    async def knowledge_paths(self, anima: str, text: str, limit: int) -> list[str] | None:
        return None


@dataclasses.dataclass
class Model:
    answer: str | Exception
    asked: list[list[dict[str, str]]] = dataclasses.field(default_factory=list)

    async def ask(self, target: ModelTarget, messages: list[dict[str, str]]) -> ModelAnswer:
        self.asked.append(messages)
        if isinstance(self.answer, Exception):
            raise self.answer
        usage = TokenUsage(prompt_tokens=10, completion_tokens=5, total_tokens=15)
        return ModelAnswer(self.answer, target.model, {"model": target.model}, {"text": self.answer}, usage)


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
        plan = self.recorded_plan
        return plan if plan is not None and plan.id == plan_id else None

    async def put(self, digest: str, data: bytes) -> None: ...

    def of(self, kind: type[Any]) -> list[Any]:
        return [e for e in self.published if isinstance(e, kind)]


@dataclasses.dataclass
class FakeDelivery:
    data: bytes = b""
    subject: str = "activity.0.clerk.consolidation.due"
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    deliveries: int = 1
    stream: str | None = "ACTIVITY"
    stream_seq: int | None = 7

    async def ack(self) -> None: ...
    async def nak(self, delay_s: float) -> None: ...
    async def term(self) -> None: ...
    async def in_progress(self) -> None: ...


def _config(tmp_path: Path, model: str | None) -> CachedConfig:
    path = tmp_path / "config.json"
    write_config(
        path,
        AnimaWorksConfig(
            credentials={"scripted": Credential(base_url="http://127.0.0.1:1/v1")},
            anima_defaults=AnimaModelConfig(model=model, credential="scripted" if model else None),
        ),
    )
    return CachedConfig(path)


def _run(
    tmp_path: Path, model: Model, *, configured: str | None = "openai/scripted", bus: Bus | None = None
) -> Bus:
    bus = bus or Bus()
    memory = Memory({"status.json": "{}", f"episodes/{DAY}.md": EPISODES})
    ports = RunPorts(
        files=memory,
        search=NoSearch(),
        model=model,
        ops=bus,
        ledger=bus,
        bodies=bus,
        publisher=bus,
        config=_config(tmp_path, configured),
        faults=FaultPoints(""),
    )
    due = _due()
    delivery = FakeDelivery(data=encode_event(due), deliveries=2 if bus.recorded_plan else 1)
    asyncio.run(DueHandler(DailyRun(ports), WeeklyRun(ports))(delivery.data, delivery))
    return bus


def test_a_day_that_does_not_exist_fails_the_run_with_the_reason(tmp_path: Path) -> None:
    bus = Bus()
    memory = Memory({"status.json": "{}"})
    ports = dataclasses.replace(_ports_unused(), files=memory, publisher=bus, config=_config(tmp_path, None))
    due = msgspec.structs.replace(_due(), date="2026-02-31")
    delivery = FakeDelivery(data=encode_event(due))
    asyncio.run(DueHandler(DailyRun(ports), WeeklyRun(ports))(delivery.data, delivery))
    (done,) = bus.of(ConsolidationFinished)
    assert done.status == "failed" and done.error == "'2026-02-31' is not a day of the calendar"
    assert len(bus.published) == 1


def _due(kind: ConsolidationKind = ConsolidationKind.DAILY) -> ConsolidationDue:
    return ConsolidationDue(
        id="run-1",
        anima="clerk",
        correlation_id="run-1",
        producer="cli",
        kind=kind,
        fire_at=datetime(2026, 12, 6, 23, 0, tzinfo=UTC),
        date=DAY,
    )


def _answer(*decisions: dict[str, Any]) -> str:
    return json.dumps({"decisions": list(decisions)})


def test_the_model_decides_and_a_decision_with_an_invented_citation_is_rejected(tmp_path: Path) -> None:
    model = Model(
        _answer(
            {
                "action": "create",
                "title": "Tanaka-san",
                "content": LESSON,
                "citations": [{"ref": LESSON_REF, "quote": LESSON}],
            },
            {
                "action": "create",
                "title": "Jokes",
                "content": "Tell jokes",
                "citations": [{"ref": f"episodes/{DAY}.md:99", "quote": "jokes"}],
            },
        )
    )
    bus = _run(tmp_path, model)
    assert f"[{LESSON_REF}] - Lesson: {LESSON}" in model.asked[0][1]["content"]
    (started,) = bus.of(ConsolidationStarted)
    assert started.date == DAY and started.sources == 4
    (called,) = bus.of(LlmCalled)
    assert called.purpose == "consolidation" and called.cycle_id == "run-1" and called.error is None
    (request,) = bus.of(MemoryOpRequested)
    assert isinstance(request.op, WriteKnowledge) and request.op.path == "knowledge/tanaka-san.md"
    (done,) = bus.of(ConsolidationFinished)
    assert (done.method, done.created, done.model) == ("model", 1, "openai/scripted")
    assert len(done.rejections) == 1 and "not among the day's sources" in done.rejections[0]


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (ModelCallFailed("APIConnectionError: refused"), "the model failed: APIConnectionError: refused"),
        (
            "Sure! I would remember the Tanaka rule.",
            "the model's answer was not usable: the answer holds no JSON",
        ),
        (
            '{"decisions": [{"action": "delete"}]}',
            "the model's answer was not usable: the answer does not match",
        ),
    ],
)
def test_a_failed_or_unusable_model_answer_falls_back_and_says_why(
    tmp_path: Path, answer: str | Exception, why: str
) -> None:
    bus = _run(tmp_path, Model(answer))
    (done,) = bus.of(ConsolidationFinished)
    assert (
        done.method == "fallback"
        and done.fallback_reason is not None
        and done.fallback_reason.startswith(why)
    )
    assert done.created == 1
    (called,) = bus.of(LlmCalled)  # the failed or unusable call is on record too
    assert (called.error is not None) == isinstance(answer, Exception)


def test_with_no_model_configured_nothing_is_asked(tmp_path: Path) -> None:
    model = Model(_answer())
    bus = _run(tmp_path, model, configured=None)
    assert model.asked == [] and bus.of(LlmCalled) == []
    (done,) = bus.of(ConsolidationFinished)
    assert (done.method, done.fallback_reason, done.created) == ("fallback", "no model configured", 1)


def test_a_rerun_carries_out_the_recorded_plan_without_asking_again(tmp_path: Path) -> None:
    first = _run(tmp_path, Model(ModelCallFailed("boom")))
    (plan,) = first.of(ConsolidationPlanned)
    model = Model(_answer({"action": "skip", "reason": "a different answer the second time"}))
    again = _run(tmp_path, model, bus=Bus(recorded_plan=plan))
    assert model.asked == [] and again.of(ConsolidationPlanned) == []
    assert [r.id for r in again.of(MemoryOpRequested)] == [r.id for r in first.of(MemoryOpRequested)]
    ts = datetime(2026, 12, 7, tzinfo=UTC)  # the only field that may differ: when it was said
    (done_again,), (done_first,) = again.of(ConsolidationFinished), first.of(ConsolidationFinished)
    assert msgspec.structs.replace(done_again, ts=ts) == msgspec.structs.replace(done_first, ts=ts)


def _ports_unused() -> RunPorts:
    raise_on_use = Bus()
    return RunPorts(
        files=Memory({}),
        search=NoSearch(),
        model=Model(RuntimeError("not asked")),
        ops=raise_on_use,
        ledger=raise_on_use,
        bodies=raise_on_use,
        publisher=raise_on_use,
        config=CachedConfig(Path("/nonexistent/config.json")),
        faults=FaultPoints(""),
    )
