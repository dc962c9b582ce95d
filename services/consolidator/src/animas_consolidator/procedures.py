"""The procedures stage of the daily run: distil resolved tasks, revise failing procedures, propose skills.

It reads the task store, the procedure files, their outcome counts and the failure notes in the
episode logs through memory-writer, asks the anima's model for each revision (recorded like every
model call of a run; the deterministic "Known pitfalls" revision when there is no capable model
or its answer is unusable) and returns operations the run frame adds to the day's plan, so a run
killed and redelivered carries out the same ones.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Protocol

import msgspec

from animas_consolidator.domain.decisions import InvalidAnswer
from animas_consolidator.domain.model_choice import ModelTarget, choose_model
from animas_consolidator.domain.plan import PlannedOp
from animas_consolidator.domain.procedures import (
    FAILED_TITLE,
    PROCEDURES,
    Procedure,
    distil,
    failure_notes,
    needs_revision,
    procedures,
    proposal_path,
    resolved_on,
    revision,
    skill_path,
    skill_proposal,
    skill_worthy,
    with_pitfalls,
)
from animas_consolidator.domain.revision_prompt import parse_revision, revision_messages
from animas_consolidator.model_call import ask_recorded
from animas_consolidator.run_frame import RunContext, RunPorts
from animas_contracts import (
    ConsolidationPlanned,
    MemoryOp,
    MemoryReadReply,
    MemoryReadRequest,
    MetaRecord,
    PlannedDecision,
    TaskRecord,
)

_log = logging.getLogger(__name__)


class ProcedureFiles(Protocol):
    """What the stage reads through memory-writer (``animas_core.memory_client.MemoryClient``)."""

    async def read(self, anima: str, path: str) -> str | None: ...

    async def tree(self, anima: str) -> dict[str, str]: ...

    async def stats(self, anima: str) -> list[MetaRecord]: ...

    async def tasks(self, anima: str) -> list[TaskRecord]: ...

    async def request(self, anima: str, request: MemoryReadRequest) -> MemoryReadReply: ...


@dataclasses.dataclass(frozen=True)
class ProcedurePlan:
    """The stage's operations, what it left out, and how its revisions were decided."""

    ops: list[PlannedOp[MemoryOp]]
    skips: list[str]
    notes: list[str]
    """How each revision was decided (the model, or the fallback and why)."""


class ProcedureStage:
    """Plans the procedure work of one daily run."""

    def __init__(self, ports: RunPorts, files: ProcedureFiles) -> None:
        self._p = ports
        self._files = files

    async def plan(self, context: RunContext, attempt: int) -> ProcedurePlan:
        """The procedure operations of the run's day."""
        anima, day = context.ref.due.anima, context.day.isoformat()
        paths = [p for p in await self._files.tree(anima) if p.startswith(PROCEDURES) and p.endswith(".md")]
        texts = {path: text for path in paths if (text := await self._files.read(anima, path)) is not None}
        known = procedures(texts, await self._files.stats(anima))
        tasks = resolved_on(await self._files.tasks(anima), context.day, context.zone)
        created, skips = distil(tasks, known, day)
        ops: list[PlannedOp[MemoryOp]] = list(created)
        notes: list[str] = []
        for procedure in known:
            if needs_revision(procedure):
                content, how = await self._revised(context, procedure, attempt)
                ops.append(revision(procedure, content))
                notes.append(f"{procedure.path} revised ({how})")
            elif skill_worthy(procedure):
                if await self._files.read(anima, skill_path(procedure)) is not None:
                    continue  # adopted already
                if await self._files.read(anima, proposal_path(procedure)) is not None:
                    skips.append(f"{procedure.path}: proposed as a skill already")
                    continue
                ops.append(skill_proposal(procedure, day))
        return ProcedurePlan(ops, skips, notes)

    async def _revised(self, context: RunContext, procedure: Procedure, attempt: int) -> tuple[str, str]:
        """The revised body and who wrote it."""
        anima = context.ref.due.anima
        reply = await self._files.request(
            anima, MemoryReadRequest(op="grep", path="episodes", pattern=f"{FAILED_TITLE}{procedure.path}")
        )
        lines = [(m.path, m.line, m.text) for m in reply.matches] if reply.ok else []
        notes = failure_notes(procedure, lines)
        choice = choose_model(context.config, anima, context.status)
        if not isinstance(choice, ModelTarget):
            return with_pitfalls(procedure.body, notes), f"fallback: {choice.reason}"
        messages = revision_messages(anima, procedure, notes)
        text, failure = await ask_recorded(self._p, context.ref, choice, messages, attempt)
        if text is not None:
            try:
                return parse_revision(text), f"by {choice.model}"
            except InvalidAnswer as exc:
                failure = f"the model's answer was not usable: {exc}"
        return with_pitfalls(procedure.body, notes), f"fallback: {failure}"


def with_procedures(day_plan: ConsolidationPlanned, extra: ProcedurePlan) -> ConsolidationPlanned:
    """The day's plan with the procedure operations after its own (recorded and applied as one)."""
    for note in extra.notes:
        _log.info("procedure %s", note, extra={"anima": day_plan.anima, "run_id": day_plan.run_id})
    added = [PlannedDecision(key=p.key, action=p.action, op=p.op) for p in extra.ops]
    return msgspec.structs.replace(
        day_plan,
        decisions=[*day_plan.decisions, *added],
        skips=[*day_plan.skips, *extra.skips],
    )
