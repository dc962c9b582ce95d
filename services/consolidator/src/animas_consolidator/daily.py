"""One daily consolidation run: gather the day, decide, then let the run frame record and apply the plan.

The frame (:mod:`animas_consolidator.run_frame`) records the plan before anything is applied, so
a run killed at any point carries out the same decisions under the same derived ids when redelivered.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from animas_consolidator.domain import prompt
from animas_consolidator.domain.candidates import merge_candidates
from animas_consolidator.domain.citations import KNOWLEDGE, rejection
from animas_consolidator.domain.decisions import Decision, InvalidAnswer, Merge, Supersede, parse_answer
from animas_consolidator.domain.fallback import fallback_decisions
from animas_consolidator.domain.lessons import explicit_lessons
from animas_consolidator.domain.model_choice import ModelTarget, choose_model
from animas_consolidator.domain.plan import plan
from animas_consolidator.domain.records import RunRef, planned
from animas_consolidator.domain.sources import SourceLine, by_ref
from animas_consolidator.forgetting import Forgetting
from animas_consolidator.gather import day_sources, knowledge_texts
from animas_consolidator.model_call import ask_recorded
from animas_consolidator.procedures import ProcedureStage, with_procedures
from animas_consolidator.run_frame import AfterApply, RunContext, carry_out, open_run
from animas_consolidator.run_frame import RunPorts as RunPorts
from animas_contracts import ConsolidationDue, ConsolidationMethod, ConsolidationPlanned
from animas_core.config import AnimaWorksConfig
from animas_core.policy import Delivery

_log = logging.getLogger(__name__)


class DailyRun:
    """Carries out daily consolidation runs."""

    def __init__(self, ports: RunPorts, forgetting: Forgetting | None = None) -> None:
        self._p = ports
        self._forgetting = forgetting
        """Downscaling and complete forgetting, after the day is consolidated (None: not run)."""
        self.procedures: ProcedureStage | None = None
        """Procedures distilled, revised and proposed as skills in the day's plan (None: not run)."""

    async def run(self, due: ConsolidationDue, delivery: Delivery) -> None:
        """Consolidate the day ``due`` names (or the day before it fires) for its anima."""
        context = await open_run(self._p, due)
        if context is None:
            return
        sources = await day_sources(self._p.files, due.anima, context.day, context.zone)

        async def decide() -> ConsolidationPlanned:
            day_plan = await self._decide(
                context.ref, sources, context.status, config_model=context.config, attempt=delivery.deliveries
            )
            if self.procedures is None:
                return day_plan
            return with_procedures(day_plan, await self.procedures.plan(context, delivery.deliveries))

        after = None if self._forgetting is None else _forgetting_stage(self._forgetting, context)
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
        texts = await knowledge_texts(p.files, p.search, anima, lessons, known)
        candidates = merge_candidates(lessons, texts)
        choice = choose_model(config_model, anima, status)
        decisions: list[Decision] | None = None
        model = choice.model if isinstance(choice, ModelTarget) else None
        fallback_reason = None if isinstance(choice, ModelTarget) else choice.reason
        if isinstance(choice, ModelTarget):
            messages = prompt.messages(anima, day, sources, lessons, candidates, texts, known)
            decisions, fallback_reason = await self._ask(ref, choice, messages, attempt)
        method = ConsolidationMethod.MODEL
        if decisions is None:
            decisions, method = fallback_decisions(lessons, candidates, sources), ConsolidationMethod.FALLBACK
        lines = by_ref(sources)
        accepted, rejections = [], []
        for decision in decisions:
            reason = rejection(decision, lines, known)
            if reason is None:
                accepted.append(decision)
            else:
                rejections.append(reason)
                _log.info("decision rejected: %s", reason, extra={"anima": anima, "run_id": ref.run_id})
        for decision in accepted:
            if isinstance(decision, Merge | Supersede) and decision.path not in texts:
                texts[decision.path] = await p.files.read(anima, decision.path) or ""
        result = plan(accepted, texts, day)
        return planned(
            ref,
            result.ops,
            method=method,
            model=model,
            fallback_reason=fallback_reason,
            skips=list(result.skips),
            rejections=rejections,
        )

    async def _ask(
        self, ref: RunRef, target: ModelTarget, messages: list[dict[str, str]], attempt: int
    ) -> tuple[list[Decision] | None, str | None]:
        """The model's decisions, or None and why the fallback runs; the call is recorded either way."""
        text, failure = await ask_recorded(self._p, ref, target, messages, attempt)
        if text is None:
            return None, failure
        try:
            return list(parse_answer(text).decisions), None
        except InvalidAnswer as exc:
            return None, f"the model's answer was not usable: {exc}"


def _forgetting_stage(forgetting: Forgetting, context: RunContext) -> Callable[[], Awaitable[AfterApply]]:
    """Downscaling and complete forgetting on the run's day, once the day is consolidated."""

    async def forget() -> AfterApply:
        outcome = await forgetting.run(context.ref, context.day, context.config.consolidation)
        return len(outcome.forgotten), outcome.refused

    return forget
