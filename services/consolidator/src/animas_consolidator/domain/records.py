"""The events a run records, with ids derived from the run so a rerun records each one once."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from typing import Any

import msgspec

from animas_consolidator.domain.identity import PROPOSAL_PART, identity_note
from animas_consolidator.domain.plan import PlannedOp
from animas_contracts import (
    Body,
    ConsolidationDue,
    ConsolidationFinished,
    ConsolidationMethod,
    ConsolidationPlanned,
    ConsolidationStarted,
    ConsolidationStatus,
    LlmCalled,
    MemoryOp,
    MemoryOpRequested,
    PlannedDecision,
    RecordedTurn,
    TokenUsage,
    derive_id,
)
from animas_contracts.identity import PlannedIdentity

PRODUCER = "consolidator"
PURPOSE = "consolidation"
"""``llm.called``'s purpose: a replay of cycles leaves these calls alone."""


@dataclasses.dataclass(frozen=True)
class RunRef:
    """The run every record belongs to: the due event that asked for it."""

    due: ConsolidationDue
    day: str | None

    @property
    def run_id(self) -> str:
        return self.due.id

    def envelope(self, *parts: str | int) -> dict[str, Any]:
        """The envelope fields of a record whose id derives from the run and ``parts``."""
        return {
            "id": derive_id(self.run_id, *parts),
            "anima": self.due.anima,
            "correlation_id": self.due.correlation_id,
            "causation_id": self.run_id,
            "producer": PRODUCER,
        }


def started(ref: RunRef, sources: int) -> ConsolidationStarted:
    """The run began."""
    due = ref.due
    return ConsolidationStarted(
        **ref.envelope("started"),
        run_id=ref.run_id,
        kind=due.kind,
        date=ref.day,
        scheduled_by=due.scheduled_by,
        sources=sources,
    )


def planned(
    ref: RunRef,
    ops: Sequence[PlannedOp[MemoryOp]],
    *,
    method: ConsolidationMethod,
    model: str | None,
    fallback_reason: str | None,
    skips: list[str],
    rejections: list[str],
    inputs: Body | None = None,
    identity: PlannedIdentity | None = None,
) -> ConsolidationPlanned:
    """The run's decisions, before any is applied; ``inputs``: what it decided from, for a replay."""
    return ConsolidationPlanned(
        **ref.envelope("planned"),
        run_id=ref.run_id,
        method=method,
        model=model,
        fallback_reason=fallback_reason,
        decisions=[PlannedDecision(key=p.key, action=p.action, op=p.op) for p in ops],
        skips=skips,
        rejections=rejections,
        inputs=inputs,
        identity=identity,
    )


def decision_request(ref: RunRef, decision: PlannedDecision) -> MemoryOpRequested:
    """The memory operation of one decision; its id derives from the run and the decision's key."""
    return MemoryOpRequested(**ref.envelope("decision", decision.key), op=decision.op)


def finished(
    ref: RunRef,
    status: ConsolidationStatus,
    plan: ConsolidationPlanned | None = None,
    *,
    refused: list[str] | None = None,
    error: str | None = None,
    forgotten: int = 0,
) -> ConsolidationFinished:
    """The run ended; ``refused`` are the decisions memory-writer rejected."""
    counts = {"create": 0, "merge": 0, "supersede": 0}
    refused = refused or []
    for decision in plan.decisions if plan else []:
        counts[decision.action] = counts.get(decision.action, 0) + 1
    return ConsolidationFinished(
        **ref.envelope("finished"),
        run_id=ref.run_id,
        kind=ref.due.kind,
        date=ref.day,
        status=status,
        method=plan.method if plan else ConsolidationMethod.NONE,
        model=plan.model if plan else None,
        fallback_reason=plan.fallback_reason if plan else None,
        created=counts["create"],
        merged=counts["merge"],
        superseded=counts["supersede"],
        skipped=len(plan.skips) if plan else 0,
        summarised=counts.get("compress", 0),
        forgotten=forgotten,
        procedures=counts.get("procedure", 0),
        revised=counts.get("revise", 0),
        proposed=counts.get("propose_skill", 0),
        skips=list(plan.skips) if plan else [],
        rejections=(list(plan.rejections) if plan else []) + refused,
        error=error,
        identity=identity_note(ref.due.kind, plan, derive_id(ref.run_id, PROPOSAL_PART)),
    )


def body_of(payload: Any, inline_limit: int) -> tuple[Body, bytes | None]:
    """A Body for ``payload``; the bytes to store by reference when it is over the limit."""
    encoded = msgspec.json.encode(payload)
    digest = "sha256:" + hashlib.sha256(encoded).hexdigest()
    if len(encoded) <= inline_limit:
        return Body(size=len(encoded), digest=digest, inline=payload), None
    return Body(size=len(encoded), digest=digest, stored=True), encoded


@dataclasses.dataclass(frozen=True)
class ModelCall:
    """One decision call as it went: the request sent, and the answer or the error."""

    model: str
    request: Body
    response: Body | None
    text: str | None
    usage: TokenUsage
    latency_ms: float
    error: str | None


def llm_called(ref: RunRef, call: ModelCall, attempt: int) -> LlmCalled:
    """The record of the decision call (each delivery of the due event records its own)."""
    return LlmCalled(
        **ref.envelope("llm", attempt),
        cycle_id=ref.run_id,
        ordinal=0,
        model=call.model,
        request=call.request,
        response=call.response,
        usage=call.usage,
        latency_ms=call.latency_ms,
        error=call.error,
        attempt=attempt,
        turn=RecordedTurn(text=call.text, model=call.model) if call.text is not None else None,
        purpose=PURPOSE,
    )
