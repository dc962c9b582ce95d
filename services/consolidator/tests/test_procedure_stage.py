"""The procedures stage of a daily run over in-memory ports: revisions by the model or the fallback.

The stand-ins answer like memory-writer (files, statistics, tasks, grep of the episode logs) and
the model; the stage itself (reading, deciding, the recorded model call) is the real code.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from animas_consolidator.domain.model_choice import ModelTarget
from animas_consolidator.domain.procedures import PITFALLS_HEADING
from animas_consolidator.domain.records import RunRef
from animas_consolidator.ports import ModelAnswer, ModelCallFailed, OpOutcome
from animas_consolidator.procedures import ProcedurePlan, ProcedureStage
from animas_consolidator.run_frame import RunContext, RunPorts
from animas_contracts import (
    ConsolidationDue,
    ConsolidationKind,
    Event,
    GrepMatch,
    IdentityRevised,
    LlmCalled,
    MemoryOpRequested,
    MemoryReadReply,
    MemoryReadRequest,
    MetaRecord,
    TaskRecord,
    TokenUsage,
    WriteFile,
    WriteProcedure,
)
from animas_core.config import AnimaModelConfig, AnimaWorksConfig, CachedConfig, Credential
from animas_core.faults import FaultPoints

PATH = "procedures/rollback.md"
TEXT = "---\nversion: 1\nfailure_count: 0\nsuccess_count: 0\n---\n\n# Roll back\n\n1. git revert\n"
FAILED = "## 10:00 Procedure failed: procedures/rollback.md — the migration lock was held"


@dataclasses.dataclass
class Memory:
    files: dict[str, str]
    stats_rows: list[MetaRecord]

    async def read(self, anima: str, path: str) -> str | None:
        return self.files.get(path)

    async def tree(self, anima: str) -> dict[str, str]:
        return {p: "digest" for p in self.files if p.startswith("procedures/")}

    async def stats(self, anima: str) -> list[MetaRecord]:
        return self.stats_rows

    async def tasks(self, anima: str) -> list[TaskRecord]:
        return []

    async def listing(self, anima: str, path: str) -> list[str]:
        return []

    async def request(self, anima: str, request: MemoryReadRequest) -> MemoryReadReply:
        assert request.op == "grep" and request.path == "episodes"
        lines = [GrepMatch(path="episodes/2026-12-05.md", line=3, text=FAILED)]
        return MemoryReadReply(
            ok=True, matches=[m for m in lines if request.pattern.lower() in m.text.lower()]
        )


@dataclasses.dataclass
class Model:
    answer: str | Exception
    asked: int = 0

    async def ask(self, target: ModelTarget, messages: list[dict[str, str]]) -> ModelAnswer:
        self.asked += 1
        if isinstance(self.answer, Exception):
            raise self.answer
        return ModelAnswer(self.answer, target.model, {}, {}, TokenUsage())


@dataclasses.dataclass
class Bus:
    published: list[Event] = dataclasses.field(default_factory=list)

    async def publish(self, event: Event) -> None:
        self.published.append(event)

    async def apply(self, request: MemoryOpRequested | IdentityRevised) -> OpOutcome:
        raise AssertionError("the stage plans; the run frame applies")

    async def plan(self, anima: str, plan_id: str, after_seq: int) -> None:
        return None

    async def put(self, digest: str, data: bytes) -> None: ...


class NoSearch:
    async def knowledge_paths(self, anima: str, text: str, limit: int) -> list[str] | None:
        return None


def _plan(model: Model, configured: bool, stats: list[MetaRecord], tmp: str) -> tuple[ProcedurePlan, Bus]:
    bus = Bus()
    memory = Memory({PATH: TEXT}, stats)
    ports = RunPorts(
        files=memory,
        search=NoSearch(),
        model=model,
        ops=bus,
        ledger=bus,
        bodies=bus,
        publisher=bus,
        config=CachedConfig(Path(tmp) / "none.json"),
        faults=FaultPoints(""),
    )
    config = AnimaWorksConfig(
        credentials={"scripted": Credential(base_url="http://127.0.0.1:1/v1")},
        anima_defaults=AnimaModelConfig(
            model="openai/scripted" if configured else None, credential="scripted" if configured else None
        ),
    )
    due = ConsolidationDue(
        id="run-1",
        anima="ops",
        correlation_id="run-1",
        producer="cli",
        kind=ConsolidationKind.DAILY,
        fire_at=datetime(2026, 12, 6, 23, 0, tzinfo=UTC),
        date="2026-12-06",
    )
    context = RunContext(RunRef(due, "2026-12-06"), date(2026, 12, 6), ZoneInfo("UTC"), {}, config)
    return asyncio.run(ProcedureStage(ports, memory).plan(context, attempt=1)), bus


def test_with_no_model_a_failing_procedure_gets_its_failure_notes_as_known_pitfalls(tmp_path: Path) -> None:
    model = Model("unused")
    stats = [MetaRecord(path=PATH, failure_count=2)]
    result, bus = _plan(model, False, stats, str(tmp_path))
    (op,) = result.ops
    assert op.action == "revise" and isinstance(op.op, WriteProcedure)
    assert op.op.content.endswith(f"{PITFALLS_HEADING}\n- the migration lock was held\n")
    assert model.asked == 0 and bus.published == []
    assert result.notes == [f"{PATH} revised (fallback: no model configured)"]


def test_the_models_revision_is_used_and_its_call_recorded(tmp_path: Path) -> None:
    model = Model('{"content": "# Roll back\\n\\n1. Wait for the migration lock.\\n2. git revert\\n"}')
    result, bus = _plan(model, True, [MetaRecord(path=PATH, failure_count=2)], str(tmp_path))
    (op,) = result.ops
    assert isinstance(op.op, WriteProcedure) and "Wait for the migration lock." in op.op.content
    (called,) = [e for e in bus.published if isinstance(e, LlmCalled)]
    assert called.error is None and result.notes == [f"{PATH} revised (by openai/scripted)"]


def test_a_failed_model_call_falls_back_and_says_why(tmp_path: Path) -> None:
    model = Model(ModelCallFailed("timeout"))
    result, _ = _plan(model, True, [MetaRecord(path=PATH, failure_count=3)], str(tmp_path))
    (op,) = result.ops
    assert isinstance(op.op, WriteProcedure) and PITFALLS_HEADING in op.op.content
    assert result.notes == [f"{PATH} revised (fallback: the model failed: timeout)"]


def test_a_reliable_procedure_is_proposed_as_a_skill(tmp_path: Path) -> None:
    result, _ = _plan(Model("unused"), False, [MetaRecord(path=PATH, success_count=3)], str(tmp_path))
    (op,) = result.ops
    assert op.action == "propose_skill" and isinstance(op.op, WriteFile)
    assert op.op.path == "state/skill_proposals/rollback.md"
