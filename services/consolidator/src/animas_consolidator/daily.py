"""One daily consolidation run: gather the day, decide, record the plan, apply it, record the outcome.

The plan is recorded (``consolidation.planned``) before anything is applied. A run killed at any
point is redelivered; it finds its plan in the stream and carries out the same decisions under
the same derived ids, so memory-writer applies each once, whatever the model would answer now.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from datetime import date
from typing import Any

from animas_consolidator.domain import prompt
from animas_consolidator.domain.candidates import merge_candidates
from animas_consolidator.domain.citations import KNOWLEDGE, rejection
from animas_consolidator.domain.decisions import Decision, InvalidAnswer, Merge, Supersede, parse_answer
from animas_consolidator.domain.fallback import fallback_decisions
from animas_consolidator.domain.lessons import explicit_lessons
from animas_consolidator.domain.model_choice import ModelTarget, choose_model
from animas_consolidator.domain.plan import plan
from animas_consolidator.domain.records import (
    ModelCall,
    RunRef,
    body_of,
    decision_request,
    finished,
    llm_called,
    planned,
    started,
)
from animas_consolidator.domain.sources import SourceLine, by_ref, scheduled_day
from animas_consolidator.forgetting import Forgetting
from animas_consolidator.gather import day_sources, knowledge_texts
from animas_consolidator.ports import (
    AnimaFiles,
    BodyStore,
    DecisionModel,
    KnowledgeSearch,
    MemoryOps,
    ModelCallFailed,
    RunLedger,
)
from animas_contracts import (
    Body,
    ConsolidationDue,
    ConsolidationMethod,
    ConsolidationPlanned,
    ConsolidationStatus,
    TokenUsage,
    derive_id,
)
from animas_core.broker import EventSink
from animas_core.config import AnimaWorksConfig, CachedConfig, ConfigError
from animas_core.errors import RetryableError
from animas_core.faults import FaultPoints
from animas_core.policy import Delivery
from animas_core.schedules.anima_zone import anima_zone

_log = logging.getLogger(__name__)
FAULT_AFTER_FIRST_DECISION = "consolidation-after-first-decision"
"""Fault point: die right after the run's first decision was stored for the first time."""
BODY_INLINE_LIMIT = 64 * 1024


@dataclasses.dataclass(frozen=True)
class RunPorts:
    """Everything a run reaches outside itself."""

    files: AnimaFiles
    search: KnowledgeSearch
    model: DecisionModel
    ops: MemoryOps
    ledger: RunLedger
    bodies: BodyStore
    publisher: EventSink
    config: CachedConfig
    faults: FaultPoints


class DailyRun:
    """Carries out daily consolidation runs."""

    def __init__(self, ports: RunPorts, forgetting: Forgetting | None = None) -> None:
        self._p = ports
        self._forgetting = forgetting
        """Downscaling and complete forgetting, after the day is consolidated (None: not run)."""

    async def run(self, due: ConsolidationDue, delivery: Delivery) -> None:
        """Consolidate the day ``due`` names (or the day before it fires) for its anima."""
        p, anima = self._p, due.anima
        status_text = await p.files.read(anima, "status.json")
        if status_text is None:
            await p.publisher.publish(
                finished(RunRef(due, due.date), ConsolidationStatus.FAILED, error=f"no anima named {anima!r}")
            )
            return
        try:
            config = p.config.get()
            status = _status(status_text)
        except (ConfigError, ValueError) as exc:
            await p.publisher.publish(
                finished(RunRef(due, due.date), ConsolidationStatus.FAILED, error=str(exc))
            )
            return
        zone, _ = anima_zone(anima, status, config)
        try:
            day = date.fromisoformat(due.date) if due.date else scheduled_day(due.fire_at, zone)
        except ValueError:
            error = f"{due.date!r} is not a day of the calendar"
            await p.publisher.publish(finished(RunRef(due, None), ConsolidationStatus.FAILED, error=error))
            return
        ref = RunRef(due, day.isoformat())
        sources = await day_sources(p.files, anima, day, zone)
        await p.publisher.publish(started(ref, len(sources)))
        recorded = None
        if delivery.deliveries > 1:
            recorded = await p.ledger.plan(anima, derive_id(ref.run_id, "planned"), delivery.stream_seq or 0)
        the_plan = recorded or await self._decide(
            ref, sources, status, config_model=config, attempt=delivery.deliveries
        )
        if recorded is None:
            await p.publisher.publish(the_plan)
        refused = await self._apply(ref, the_plan)
        await p.publisher.publish(finished(ref, ConsolidationStatus.OK, the_plan, refused=refused))
        if self._forgetting is not None:
            await self._forgetting.run(ref, day, config.consolidation)

    async def _apply(self, ref: RunRef, the_plan: ConsolidationPlanned) -> list[str]:
        """Ask for each decision in order; what memory-writer refused, and why."""
        refused = []
        for index, decision in enumerate(the_plan.decisions):
            outcome = await self._p.ops.apply(decision_request(ref, decision))
            if outcome.applied is None:
                # Not "failed": unconfirmed. The whole run is retried; applied decisions are not redone.
                raise RetryableError(
                    f"memory-writer has not confirmed decision {decision.key} of run {ref.run_id}"
                )
            if outcome.applied is False:
                refused.append(f"{decision.action} ({decision.key}): memory-writer refused: {outcome.reason}")
            if index == 0 and outcome.first_time:
                self._p.faults.reach(FAULT_AFTER_FIRST_DECISION)
        return refused

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
        p = self._p
        began = time.monotonic()
        try:
            answer = await p.model.ask(target, messages)
        except ModelCallFailed as exc:
            request = await self._body({"model": target.model, "messages": messages})
            call = ModelCall(target.model, request, None, None, TokenUsage(), _ms(began), str(exc))
            await p.publisher.publish(llm_called(ref, call, attempt))
            return None, f"the model failed: {exc}"
        request = await self._body(answer.raw_request)
        response = await self._body(answer.raw_response)
        call = ModelCall(answer.model, request, response, answer.text, answer.usage, _ms(began), None)
        await p.publisher.publish(llm_called(ref, call, attempt))
        try:
            return list(parse_answer(answer.text).decisions), None
        except InvalidAnswer as exc:
            return None, f"the model's answer was not usable: {exc}"

    async def _body(self, payload: Any) -> Body:
        body, stored = body_of(payload, BODY_INLINE_LIMIT)
        if stored is not None:
            await self._p.bodies.put(body.digest, stored)
        return body


def _status(text: str) -> dict[str, Any]:
    status = json.loads(text) if text.strip() else {}
    if not isinstance(status, dict):
        raise ValueError("status.json: the top level must be a JSON object")
    return status


def _ms(began: float) -> float:
    return round((time.monotonic() - began) * 1000, 1)
