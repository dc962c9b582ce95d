"""Identity revisions: how large a change is, whether its evidence holds, and what became of it.

Identity grows only through consolidation (seed 003 §4): the model may propose a new identity.md
citing the day's source lines, checked like every other decision. How large the change is decides
who applies it: up to the configured number of changed lines the run does, anything larger waits
for a person's approval. The count is the diff's, not the text's: a rewrite that keeps every line
but one counts one.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence

from animas_consolidator.domain.decisions import IdentityRevision, InvalidAnswer, parse_answer
from animas_consolidator.domain.similarity import contains
from animas_consolidator.domain.sources import SourceLine, by_ref
from animas_contracts import ConsolidationKind, ConsolidationMethod, ConsolidationPlanned
from animas_contracts.identity import PlannedIdentity

PROPOSAL_PART = "identity-proposed"
"""Derives the id of a run's ``identity.proposed`` (the id a person approves)."""
REVISION_PART = "identity-revised"
"""Derives the id of a run's ``identity.revised``: a rerun asks for the same revision, applied once."""
FALLBACK_NOTE = "no identity proposal: the deterministic fallback never revises identity"


def changed_lines(old: str, new: str) -> int:
    """How many lines a revision changes: per differing block, the larger of lines removed and added.

    A replaced line counts once, an added or removed line once; blank lines, trailing spaces and
    a missing final newline do not count (they change nothing a reader sees).
    """
    before = [line.rstrip() for line in old.splitlines() if line.strip()]
    after = [line.rstrip() for line in new.splitlines() if line.strip()]
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    return sum(max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal")


def planned_identity(
    revision: IdentityRevision, sources: Mapping[str, SourceLine], current: str, limit: int
) -> PlannedIdentity | str:
    """The revision as the plan records it, or why it is refused (its evidence is not in the day)."""
    if not revision.citations:
        return "identity revision: cites no source line"
    for citation in revision.citations:
        line = sources.get(citation.ref)
        if line is None:
            return f"identity revision: cites {citation.ref}, which is not among the day's sources"
        if not citation.quote.strip() or not contains(line.text, citation.quote):
            return f"identity revision: the quote {citation.quote[:80]!r} is not in {citation.ref}"
    content = revision.content if revision.content.endswith("\n") else revision.content + "\n"
    changed = changed_lines(current, content)
    if changed == 0:
        return "identity revision: it changes nothing"
    return PlannedIdentity(
        content=content,
        reason=revision.reason,
        citations=[f"{c.ref}: {c.quote}" for c in revision.citations],
        changed_lines=changed,
        limit=limit,
    )


def identity_note(kind: ConsolidationKind, plan: ConsolidationPlanned | None, proposal_id: str) -> str | None:
    """What the finished event says became of identity.md (None: the run had nothing to say on it)."""
    if plan is None or kind is not ConsolidationKind.DAILY:
        return None
    if plan.method is ConsolidationMethod.FALLBACK:
        return FALLBACK_NOTE
    change = plan.identity
    if change is None:
        return None
    size = f"{change.changed_lines} changed lines (limit {change.limit})"
    if change.needs_approval:
        return (
            f"proposed {proposal_id}: {size}, refused for now; it waits for a person "
            f"(anima identity {plan.anima} --approve {proposal_id})"
        )
    return f"revised by consolidation: {size}"


def proposed(text: str) -> IdentityRevision | None:
    """The identity revision in a model answer whose decisions were usable (None: it proposed none)."""
    try:
        return parse_answer(text).identity
    except InvalidAnswer:
        return None


def identity_decision(
    text: str | None, sources: Sequence[SourceLine], current: str, limit: int
) -> tuple[PlannedIdentity | None, list[str]]:
    """What the plan records of the model's identity revision, and why it was refused if it was."""
    revision = None if text is None else proposed(text)
    if revision is None:
        return None, []
    checked = planned_identity(revision, by_ref(sources), current, limit)
    return (None, [checked]) if isinstance(checked, str) else (checked, [])
