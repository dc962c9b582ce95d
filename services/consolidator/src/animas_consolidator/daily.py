"""One daily consolidation run: gather the day, decide, then let the run frame record and apply the plan.

The frame (:mod:`animas_consolidator.run_frame`) records the plan before anything is applied, so
a run killed at any point carries out the same decisions under the same derived ids when redelivered.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from animas_consolidator.domain import day_decision
from animas_consolidator.domain.citations import KNOWLEDGE
from animas_consolidator.domain.contradictions import corrections
from animas_consolidator.domain.day_decision import DayInputs
from animas_consolidator.domain.decisions import Decision
from animas_consolidator.domain.identity import identity_decision
from animas_consolidator.domain.lessons import Lesson, explicit_lessons
from animas_consolidator.domain.model_choice import ModelTarget, choose_model
from animas_consolidator.domain.plan import plan
from animas_consolidator.domain.records import RunRef, planned
from animas_consolidator.domain.sources import SourceLine
from animas_consolidator.domain.task_sources import task_lines
from animas_consolidator.forgetting import Forgetting
from animas_consolidator.gather import day_sources, knowledge_texts
from animas_consolidator.housekeeping import Housekeeping
from animas_consolidator.model_call import ask_recorded, recorded_body
from animas_consolidator.ports import TaskReader
from animas_consolidator.procedures import ProcedureStage, with_procedures
from animas_consolidator.run_frame import AfterApply, RunContext, carry_out, open_run
from animas_consolidator.run_frame import RunPorts as RunPorts
from animas_contracts import ConsolidationDue, ConsolidationMethod, ConsolidationPlanned
from animas_core.config import AnimaWorksConfig
from animas_core.policy import Delivery

_log = logging.getLogger(__name__)


class DailyRun:
    """Carries out daily consolidation runs."""

    def __init__(
        self, ports: RunPorts, forgetting: Forgetting | None = None, housekeeping: Housekeeping | None = None
    ) -> None:
        self._p = ports
        self._forgetting = forgetting
        """Downscaling and complete forgetting, after the day is consolidated (None: not run)."""
        self._housekeeping = housekeeping
        """Retention of saved sessions and conversation archives, last (None: not run)."""
        self.procedures: ProcedureStage | None = None
        """Procedures distilled, revised and proposed as skills in the day's plan (None: not run)."""
        self.tasks: TaskReader | None = None
        """The task store, whose tasks resolved that day are sources too (None: not read)."""

    async def run(self, due: ConsolidationDue, delivery: Delivery) -> None:
        """Consolidate the day ``due`` names (or the day before it fires) for its anima."""
        context = await open_run(self._p, due)
        if context is None:
            return
        sources = await day_sources(self._p.files, due.anima, context.day, context.zone)
        if self.tasks is not None:
            sources += task_lines(await self.tasks.tasks(due.anima), context.day, context.zone)

        async def decide() -> ConsolidationPlanned:
            day_plan = await self._decide(
                context.ref, sources, context.status, config_model=context.config, attempt=delivery.deliveries
            )
            if self.procedures is None:
                return day_plan
            return with_procedures(day_plan, await self.procedures.plan(context, delivery.deliveries))

        after = _after_consolidation(self._forgetting, self._housekeeping, context)
        await carry_out(self._p, context.ref, delivery, len(sources), decide, after)

    async def _decide(
        self,
        ref: RunRef,
        sources: list[SourceLine],
        status: dict[str, Any],
        *,
        config_model: AnimaWorksConfig,
        attempt: int,
    ) -> ConsolidationPlanned:
        p, anima, day = self._p, ref.due.anima, ref.day or ""
        if not sources:
            return planned(
                ref,
                (),
                method=ConsolidationMethod.NONE,
                model=None,
                fallback_reason=None,
                skips=[f"nothing to consolidate: no episodes, saved sessions or conversation on {day}"],
                rejections=[],
            )
        lessons = explicit_lessons(sources)
        known = sorted(path for path in await p.files.tree(anima) if path.startswith(KNOWLEDGE))
        # Correcting lines look up the knowledge they may contradict, as lessons look up duplicates.
        queries = [*lessons, *(Lesson(text=line.text, citations=()) for line in corrections(sources))]
        texts = await knowledge_texts(p.files, p.search, anima, queries, known)
        choice = choose_model(config_model, anima, status)
        model = choice.model if isinstance(choice, ModelTarget) else None
        fallback_reason = None if isinstance(choice, ModelTarget) else choice.reason
        inputs = DayInputs(anima, day, tuple(sources), tuple(known), texts, model, fallback_reason)
        decisions: list[Decision] | None = None
        text, identity, limit = None, "", config_model.consolidation.identity_max_changed_lines
        if isinstance(choice, ModelTarget):
            identity = await p.files.read(anima, "identity.md") or ""
            inputs = dataclasses.replace(inputs, identity=identity, identity_limit=limit)
            messages = day_decision.messages(inputs)
            text, fallback_reason = await ask_recorded(p, ref, choice, messages, attempt)
            if text is not None:
                decisions, fallback_reason = day_decision.answered(text)
        method = ConsolidationMethod.MODEL
        if decisions is None:
            decisions, method = day_decision.fallback(inputs), ConsolidationMethod.FALLBACK
        revision, identity_refused = identity_decision(
            text if method is ConsolidationMethod.MODEL else None, sources, identity, limit
        )
        accepted, rejections = day_decision.checked(inputs, decisions)
        rejections += identity_refused
        for reason in rejections:
            _log.info("decision rejected: %s", reason, extra={"anima": anima, "run_id": ref.run_id})
        extra = {
            path: await p.files.read(anima, path) or ""
            for path in day_decision.files_to_read(accepted, texts)
        }
        inputs = dataclasses.replace(inputs, extra=extra)
        result = plan(accepted, inputs.plan_texts(), day)
        return planned(
            ref,
            result.ops,
            method=method,
            model=model,
            fallback_reason=fallback_reason,
            skips=list(result.skips),
            rejections=rejections,
            inputs=await recorded_body(p, inputs.to_builtins()),
            identity=revision,
        )


def _after_consolidation(
    forgetting: Forgetting | None, housekeeping: Housekeeping | None, context: RunContext
) -> Callable[[], Awaitable[AfterApply]] | None:
    """Forgetting, then housekeeping, on the run's day, once the day is consolidated."""
    if forgetting is None and housekeeping is None:
        return None

    async def after() -> AfterApply:
        forgotten, refused = 0, []
        if forgetting is not None:
            outcome = await forgetting.run(context.ref, context.day, context.config.consolidation)
            forgotten, refused = len(outcome.forgotten), list(outcome.refused)
        if housekeeping is not None:
            kept = await housekeeping.run(context.ref, context.day, context.zone, context.config.housekeeping)
            refused += kept.refused
        return forgotten, refused

    return after
