"""What every consolidation run shares, daily or weekly: open it, record its plan, apply it, close it.

A run is opened against the anima's status and the configuration (a due event naming a missing
anima or an impossible day fails the run with the reason). Its plan is recorded
(``consolidation.planned``) before anything is applied; a run killed at any point is
redelivered, finds that plan in the stream and carries out the same decisions under the same
derived ids, so memory-writer applies each once, whatever the planner would decide now.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from animas_consolidator.domain.records import RunRef, decision_request, finished, started
from animas_consolidator.domain.sources import scheduled_day
from animas_consolidator.identity_stage import carry_out_identity
from animas_consolidator.ports import (
    AnimaFiles,
    BodyStore,
    DecisionModel,
    KnowledgeSearch,
    MemoryOps,
    RunLedger,
)
from animas_contracts import ConsolidationDue, ConsolidationPlanned, ConsolidationStatus, derive_id
from animas_core.broker import EventSink
from animas_core.config import AnimaWorksConfig, CachedConfig, ConfigError
from animas_core.errors import RetryableError
from animas_core.faults import FaultPoints
from animas_core.policy import Delivery
from animas_core.schedules.anima_zone import anima_zone

AfterApply = tuple[int, list[str]]
"""What a stage run after the plan reports: memories forgotten, and refusals (with why)."""
FAULT_AFTER_FIRST_DECISION = "consolidation-after-first-decision"
"""Fault point: die right after the run's first decision was stored for the first time."""


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


@dataclasses.dataclass(frozen=True)
class RunContext:
    """An opened run: whose, which day, in which zone, under which configuration."""

    ref: RunRef
    day: date
    zone: ZoneInfo
    status: dict[str, Any]
    config: AnimaWorksConfig


async def open_run(p: RunPorts, due: ConsolidationDue) -> RunContext | None:
    """The run's context, or None when it cannot run (its failed ``consolidation.finished`` is published)."""
    anima = due.anima
    status_text = await p.files.read(anima, "status.json")
    if status_text is None:
        await _fail(p, RunRef(due, due.date), f"no anima named {anima!r}")
        return None
    try:
        config = p.config.get()
        status = _status(status_text)
    except (ConfigError, ValueError) as exc:
        await _fail(p, RunRef(due, due.date), str(exc))
        return None
    zone, _ = anima_zone(anima, status, config)
    try:
        day = date.fromisoformat(due.date) if due.date else scheduled_day(due.fire_at, zone)
    except ValueError:
        await _fail(p, RunRef(due, None), f"{due.date!r} is not a day of the calendar")
        return None
    return RunContext(RunRef(due, day.isoformat()), day, zone, status, config)


async def carry_out(
    p: RunPorts,
    ref: RunRef,
    delivery: Delivery,
    sources: int,
    decide: Callable[[], Awaitable[ConsolidationPlanned]],
    after_apply: Callable[[], Awaitable[AfterApply]] | None = None,
) -> None:
    """Record the run's start, find or make its plan, apply it and record how it ended.

    ``after_apply`` (daily forgetting) runs once the plan is applied and before the end is
    recorded: how many memories it forgot, and what memory-writer refused it.
    """
    await p.publisher.publish(started(ref, sources))
    recorded = None
    if delivery.deliveries > 1:
        recorded = await p.ledger.plan(
            ref.due.anima, derive_id(ref.run_id, "planned"), delivery.stream_seq or 0
        )
    the_plan = recorded or await decide()
    if recorded is None:
        await p.publisher.publish(the_plan)
    refused = await _apply(p, ref, the_plan)
    refused += await carry_out_identity(p.ops, p.publisher, ref, the_plan)
    forgotten = 0
    if after_apply is not None:
        forgotten, also_refused = await after_apply()
        refused += also_refused
    await p.publisher.publish(
        finished(ref, ConsolidationStatus.OK, the_plan, refused=refused, forgotten=forgotten)
    )


async def _apply(p: RunPorts, ref: RunRef, the_plan: ConsolidationPlanned) -> list[str]:
    """Ask for each decision in order; what memory-writer refused, and why."""
    refused = []
    for index, decision in enumerate(the_plan.decisions):
        outcome = await p.ops.apply(decision_request(ref, decision))
        if outcome.applied is None:
            # Not "failed": unconfirmed. The whole run is retried; applied decisions are not redone.
            raise RetryableError(
                f"memory-writer has not confirmed decision {decision.key} of run {ref.run_id}"
            )
        if outcome.applied is False:
            refused.append(f"{decision.action} ({decision.key}): memory-writer refused: {outcome.reason}")
        if index == 0 and outcome.first_time:
            p.faults.reach(FAULT_AFTER_FIRST_DECISION)
    return refused


async def _fail(p: RunPorts, ref: RunRef, error: str) -> None:
    await p.publisher.publish(finished(ref, ConsolidationStatus.FAILED, error=error))


def _status(text: str) -> dict[str, Any]:
    status = json.loads(text) if text.strip() else {}
    if not isinstance(status, dict):
        raise ValueError("status.json: the top level must be a JSON object")
    return status
