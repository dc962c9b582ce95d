"""Consolidation runs: what the consolidator set out to do and what came of it (DESIGN §6, §9).

A run is opened by ``consolidation.started`` and closed by ``consolidation.finished``. Between
them it records its decisions once, in ``consolidation.planned``, then asks for each as a memory
operation (``memory.op.requested``) whose id derives from the run and the decision. A run killed
and run again finds its plan in the stream and carries out the same decisions, so each is
applied once, whatever the model would answer the second time. Every event of a run derives its
id from the run, so a rerun records one of each.
"""

from __future__ import annotations

import enum
from typing import Annotated

import msgspec
from msgspec import Meta

from animas_contracts.agent import Body
from animas_contracts.envelope import Event
from animas_contracts.identity import PlannedIdentity
from animas_contracts.memory import MemoryOp
from animas_contracts.schedule import ConsolidationKind, ScheduledBy


class ConsolidationStatus(enum.StrEnum):
    """How a run ended."""

    OK = "ok"
    NOT_BUILT = "not_built"
    """The kind of consolidation asked for does not exist in this build yet (said, never silent)."""
    FAILED = "failed"
    """The run could not be done (no such anima, its files unreadable); ``error`` says why."""


class ConsolidationMethod(enum.StrEnum):
    """Who decided what became of the day's experience."""

    MODEL = "model"
    """The anima's model answered with decisions, each checked against its citations."""
    FALLBACK = "fallback"
    """The deterministic fallback: explicit lessons become knowledge, duplicates merge."""
    NONE = "none"
    """Nothing was decided (nothing to consolidate, or the run did not happen)."""


class ConsolidationStarted(Event, frozen=True, kw_only=True, tag="consolidation.started"):
    """A consolidation run began."""

    run_id: Annotated[str, Meta(description="The run: the consolidation.due event's id.")]
    kind: Annotated[ConsolidationKind, Meta(description="daily or weekly.")]
    date: Annotated[str | None, Meta(description="The day consolidated (YYYY-MM-DD, the anima's zone).")]
    scheduled_by: Annotated[ScheduledBy, Meta(description="The scheduler, or a person by hand.")] = (
        ScheduledBy.SCHEDULER
    )
    sources: Annotated[
        int, Meta(ge=0, description="Source lines gathered (episodes, archive, conversations).")
    ] = 0


class PlannedDecision(msgspec.Struct, frozen=True, kw_only=True):
    """One decision of a run, as the memory operation that carries it out."""

    key: Annotated[str, Meta(description="Names the decision; the operation's id derives from run and key.")]
    action: Annotated[
        str,
        Meta(
            description="create, merge or supersede; weekly also archive (a merged-away duplicate), "
            "compress (an old episode file moved to the archive) and summary (an entry of its summary)."
        ),
    ]
    op: Annotated[MemoryOp, Meta(description="The operation.")]


class ConsolidationPlanned(Event, frozen=True, kw_only=True, tag="consolidation.planned"):
    """What a run decided, recorded before any of it is applied (a rerun carries out this plan)."""

    run_id: Annotated[str, Meta(description="The run: the consolidation.due event's id.")]
    method: Annotated[ConsolidationMethod, Meta(description="model or fallback.")]
    model: Annotated[str | None, Meta(description="The model asked for decisions, if one was.")] = None
    fallback_reason: Annotated[
        str | None, Meta(description="Why the deterministic fallback ran instead of the model.")
    ] = None
    decisions: Annotated[list[PlannedDecision], Meta(description="Operations, in order.")] = msgspec.field(
        default_factory=list
    )
    skips: Annotated[list[str], Meta(description="Why each skipped candidate was left out.")] = msgspec.field(
        default_factory=list
    )
    rejections: Annotated[list[str], Meta(description="Decisions refused before planning, and why.")] = (
        msgspec.field(default_factory=list)
    )
    inputs: Annotated[
        Body | None,
        Meta(
            description="What a daily run read to decide (its source lines, the knowledge it compared, "
            "the model it chose), so `anima replay consolidate` can re-run it offline; a large one is "
            "in the object store by digest."
        ),
    ] = None
    identity: Annotated[
        PlannedIdentity | None, Meta(description="A revision of identity.md the run applies or proposes.")
    ] = None


class ConsolidationFinished(Event, frozen=True, kw_only=True, tag="consolidation.finished"):
    """A consolidation run ended: counts of what it did and the reasons for what it did not."""

    run_id: Annotated[str, Meta(description="The run: the consolidation.due event's id.")]
    kind: Annotated[ConsolidationKind, Meta(description="daily or weekly.")]
    date: Annotated[str | None, Meta(description="The day consolidated (YYYY-MM-DD), if any.")]
    status: Annotated[ConsolidationStatus, Meta(description="ok, not_built or failed.")]
    method: Annotated[ConsolidationMethod, Meta(description="model, fallback or none.")] = (
        ConsolidationMethod.NONE
    )
    model: Annotated[str | None, Meta(description="The model asked for decisions, if one was.")] = None
    fallback_reason: Annotated[
        str | None, Meta(description="Why the deterministic fallback ran instead of the model.")
    ] = None
    created: Annotated[int, Meta(ge=0, description="Knowledge files created.")] = 0
    merged: Annotated[int, Meta(ge=0, description="Lessons merged into existing knowledge.")] = 0
    superseded: Annotated[int, Meta(ge=0, description="Knowledge files replaced by a newer lesson.")] = 0
    skipped: Annotated[int, Meta(ge=0, description="Candidates deliberately left out.")] = 0
    summarised: Annotated[
        int, Meta(ge=0, description="Episode files replaced by a summary, the original archived (weekly).")
    ] = 0
    forgotten: Annotated[
        int,
        Meta(ge=0, description="Memories archived by forgetting, each with a tombstone (daily)."),
    ] = 0
    procedures: Annotated[
        int, Meta(ge=0, description="Procedures distilled from tasks resolved that day (daily).")
    ] = 0
    revised: Annotated[
        int, Meta(ge=0, description="Failing procedures revised, the old version archived (daily).")
    ] = 0
    proposed: Annotated[
        int, Meta(ge=0, description="Reliable procedures proposed as skills, for a person to adopt (daily).")
    ] = 0
    skips: Annotated[list[str], Meta(description="Why each skipped candidate was left out.")] = msgspec.field(
        default_factory=list
    )
    rejections: Annotated[
        list[str],
        Meta(
            description="Decisions refused: a citation not in the sources, a bad path, memory-writer said no."
        ),
    ] = msgspec.field(default_factory=list)
    error: Annotated[str | None, Meta(description="Why the run failed or what is not built.")] = None
    identity: Annotated[
        str | None,
        Meta(description="What became of identity.md: revised, proposed for approval, or why not."),
    ] = None
