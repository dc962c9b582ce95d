"""Checking a decision against the sources: what it cites must be there, where it writes must be allowed.

A decision whose citation is not found in the day's source lines is rejected with the reason,
which the run records in ``consolidation.finished``: a model cannot invent experience.
"""

from __future__ import annotations

import posixpath
from collections.abc import Collection, Mapping

from animas_consolidator.domain.decisions import Create, Decision, Merge, Skip, Supersede, describe
from animas_consolidator.domain.similarity import contains
from animas_consolidator.domain.sources import SourceLine

KNOWLEDGE = "knowledge/"


def rejection(
    decision: Decision, sources: Mapping[str, SourceLine], knowledge: Collection[str]
) -> str | None:
    """Why ``decision`` is refused, or None when it may be applied.

    Args:
        decision: A decision of the model or the fallback.
        sources: The day's source lines by reference.
        knowledge: The paths of the anima's existing knowledge files.
    """
    what = describe(decision)
    if not isinstance(decision, Skip) and not decision.citations:
        return f"{what}: cites no source line"
    for citation in decision.citations:
        line = sources.get(citation.ref)
        if line is None:
            return f"{what}: cites {citation.ref}, which is not among the day's sources"
        if not citation.quote.strip() or not contains(line.text, citation.quote):
            return f"{what}: the quote {citation.quote[:80]!r} is not in {citation.ref}"
    if isinstance(decision, Merge | Supersede) and decision.path not in knowledge:
        return f"{what}: {decision.path} is not an existing knowledge file"
    if isinstance(decision, Create | Merge | Supersede) and not decision.content.strip():
        return f"{what}: no content"
    return None


def is_knowledge_path(path: str) -> bool:
    """A Markdown file under ``knowledge/``, relative and without ``..``."""
    clean = posixpath.normpath(path)
    return clean == path and clean.startswith(KNOWLEDGE) and clean.endswith(".md") and ".." not in clean
