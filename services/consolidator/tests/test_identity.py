"""Identity revisions: the line-diff count, the evidence check, what a run records and carries out."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import UTC, datetime

import pytest

from animas_consolidator.domain.decisions import Citation, IdentityRevision
from animas_consolidator.domain.identity import (
    FALLBACK_NOTE,
    changed_lines,
    identity_decision,
    identity_note,
    planned_identity,
)
from animas_consolidator.domain.identity_prompt import with_identity
from animas_consolidator.domain.records import RunRef
from animas_consolidator.domain.sources import SourceKind, SourceLine, by_ref
from animas_consolidator.identity_stage import carry_out_identity
from animas_consolidator.ports import OpOutcome
from animas_contracts import (
    ConsolidationDue,
    ConsolidationKind,
    ConsolidationMethod,
    ConsolidationPlanned,
    Event,
    IdentityRevised,
    MemoryOpRequested,
    derive_id,
)
from animas_contracts.identity import IdentityProposed, PlannedIdentity
from animas_core.errors import RetryableError

IDENTITY = "# Identity: clerk\n\nI am the office clerk.\nI answer mail.\nI keep the calendar.\n"
REF = "episodes/2026-12-06.md:7"
LINE = "- Lesson: people here want me to write formally to every client"
SOURCES = [SourceLine(REF, LINE, SourceKind.EPISODE)]


@pytest.mark.parametrize(
    ("new", "count"),
    [
        (IDENTITY, 0),
        (IDENTITY.replace("I answer mail.", "I answer mail formally."), 1),  # one line replaced
        (IDENTITY + "I write formally.\nI sign as the clerk.\nI never joke.\n", 3),  # three added
        (IDENTITY.replace("I answer mail.\n", ""), 1),  # one removed
        (IDENTITY + "\n\n## Grown\n- formal\n", 2),  # blank lines do not count
        (IDENTITY.rstrip("\n") + "   ", 0),  # trailing spaces and the last newline do not count
        ("# Who I am\n\nA formal assistant.\n", 4),  # a rewrite: all but the blank line go
    ],
)
def test_changed_lines_counts_the_diff_not_the_text(new: str, count: int) -> None:
    assert changed_lines(IDENTITY, new) == count


def _revision(content: str, *citations: Citation) -> IdentityRevision:
    return IdentityRevision(content=content, reason="people asked for formality", citations=list(citations))


def test_a_revision_citing_the_day_is_planned_with_its_size_and_the_limit() -> None:
    content = IDENTITY + "I write formally to clients.\n"
    planned = planned_identity(
        _revision(content, Citation(ref=REF, quote="write formally")), by_ref(SOURCES), IDENTITY, 3
    )
    assert isinstance(planned, PlannedIdentity)
    assert (planned.changed_lines, planned.limit, planned.needs_approval) == (1, 3, False)
    assert planned.citations == [f"{REF}: write formally"] and planned.content == content


@pytest.mark.parametrize(
    ("citations", "why"),
    [
        ((), "cites no source line"),
        ((Citation(ref="episodes/2026-12-06.md:99", quote="formally"),), "not among the day's sources"),
        ((Citation(ref=REF, quote="I am a pirate"),), "is not in episodes/2026-12-06.md:7"),
    ],
)
def test_a_revision_without_evidence_in_the_day_is_refused(citations: tuple[Citation, ...], why: str) -> None:
    refused = planned_identity(_revision(IDENTITY + "x\n", *citations), by_ref(SOURCES), IDENTITY, 3)
    assert isinstance(refused, str) and why in refused


def test_a_revision_that_changes_nothing_is_refused() -> None:
    same = planned_identity(
        _revision(IDENTITY, Citation(ref=REF, quote="formally")), by_ref(SOURCES), IDENTITY, 3
    )
    assert same == "identity revision: it changes nothing"


def test_the_identity_is_read_from_the_model_answer_and_absent_or_unusable_means_none() -> None:
    answer = {
        "decisions": [],
        "identity": {
            "content": "# Someone else\n",
            "reason": "a rewrite",
            "citations": [{"ref": REF, "quote": "formally"}],
        },
    }
    planned, refused = identity_decision(json.dumps(answer), SOURCES, IDENTITY, 3)
    assert planned is not None and planned.needs_approval and refused == []
    assert identity_decision(json.dumps({"decisions": []}), SOURCES, IDENTITY, 3) == (None, [])
    assert identity_decision("not json", SOURCES, IDENTITY, 3) == (None, [])
    assert identity_decision(None, SOURCES, IDENTITY, 3) == (None, [])


def test_the_prompt_shows_the_identity_and_the_limit() -> None:
    messages = [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}]
    shown = with_identity(messages, "clerk", IDENTITY, 3)
    assert "A change of at most 3 lines is applied" in shown[0]["content"]
    assert shown[1]["content"].endswith("## identity.md now\n" + IDENTITY)
    with pytest.raises(ValueError, match="system and a user message"):
        with_identity(messages[:1], "clerk", IDENTITY, 3)


DUE = ConsolidationDue(
    id="run-1",
    anima="clerk",
    correlation_id="run-1",
    producer="cli",
    kind=ConsolidationKind.DAILY,
    fire_at=datetime(2026, 12, 6, 23, 0, tzinfo=UTC),
    date="2026-12-06",
)
REF_OF_RUN = RunRef(DUE, "2026-12-06")


def _plan(
    identity: PlannedIdentity | None, method: ConsolidationMethod = ConsolidationMethod.MODEL
) -> ConsolidationPlanned:
    return ConsolidationPlanned(
        **REF_OF_RUN.envelope("planned"), run_id="run-1", method=method, identity=identity
    )


def _change(changed: int) -> PlannedIdentity:
    return PlannedIdentity(
        content="# new\n", reason="why", citations=[f"{REF}: x"], changed_lines=changed, limit=3
    )


@dataclasses.dataclass
class Writer:
    """memory-writer's answer to each request, and every event published."""

    answer: OpOutcome
    published: list[Event] = dataclasses.field(default_factory=list)

    async def apply(self, request: MemoryOpRequested | IdentityRevised) -> OpOutcome:
        self.published.append(request)
        return self.answer

    async def publish(self, event: Event) -> None:
        self.published.append(event)


def test_a_small_revision_is_applied_as_identity_revised_by_consolidation() -> None:
    writer = Writer(OpOutcome(applied=True, first_time=True))
    refused = asyncio.run(carry_out_identity(writer, writer, REF_OF_RUN, _plan(_change(3))))
    (revised,) = writer.published
    assert refused == [] and isinstance(revised, IdentityRevised)
    assert (revised.author, revised.content, revised.producer) == ("consolidation", "# new\n", "consolidator")
    assert revised.id == derive_id("run-1", "identity-revised")  # a rerun asks for the same one
    note = identity_note(ConsolidationKind.DAILY, _plan(_change(3)), "p")
    assert note == "revised by consolidation: 3 changed lines (limit 3)"


def test_a_large_revision_is_recorded_for_approval_and_not_applied() -> None:
    writer = Writer(OpOutcome(applied=True))
    asyncio.run(carry_out_identity(writer, writer, REF_OF_RUN, _plan(_change(4))))
    (proposed,) = writer.published
    assert isinstance(proposed, IdentityProposed) and proposed.changed_lines == 4 and proposed.limit == 3
    assert proposed.id == derive_id("run-1", "identity-proposed") and proposed.run_id == "run-1"
    note = identity_note(ConsolidationKind.DAILY, _plan(_change(4)), proposed.id)
    assert note is not None and note.startswith(f"proposed {proposed.id}: 4 changed lines (limit 3)")
    assert f"anima identity clerk --approve {proposed.id}" in note


def test_a_refused_or_unconfirmed_revision_is_reported_or_retried() -> None:
    writer = Writer(OpOutcome(applied=False, reason="too large"))
    refused = asyncio.run(carry_out_identity(writer, writer, REF_OF_RUN, _plan(_change(1))))
    assert refused == ["identity revision: memory-writer refused: too large"]
    with pytest.raises(RetryableError, match="has not confirmed the identity revision"):
        asyncio.run(
            carry_out_identity(
                Writer(OpOutcome(applied=None)), Writer(OpOutcome(True)), REF_OF_RUN, _plan(_change(1))
            )
        )


def test_the_fallback_says_it_proposes_no_identity_and_a_plan_without_one_says_nothing() -> None:
    fallback = _plan(None, ConsolidationMethod.FALLBACK)
    assert identity_note(ConsolidationKind.DAILY, fallback, "p") == FALLBACK_NOTE
    assert identity_note(ConsolidationKind.WEEKLY, fallback, "p") is None
    assert identity_note(ConsolidationKind.DAILY, _plan(None), "p") is None
    writer = Writer(OpOutcome(applied=True))
    assert (
        asyncio.run(carry_out_identity(writer, writer, REF_OF_RUN, _plan(None))) == []
        and writer.published == []
    )
