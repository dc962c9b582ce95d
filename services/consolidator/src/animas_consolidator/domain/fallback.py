"""The deterministic fallback: consolidation without a capable model.

With no model configured, the bundled tiny model, a failed call or an answer that is not valid
JSON of the schema, the day is still consolidated: each explicit lesson becomes knowledge, or is
merged into the existing file it duplicates (exactly or at the merge threshold), and the run
says what it left out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from animas_consolidator.domain.candidates import MergeCandidate
from animas_consolidator.domain.decisions import Create, Decision, Merge, Skip
from animas_consolidator.domain.lessons import Lesson, title_of
from animas_consolidator.domain.sources import SourceLine


def fallback_decisions(
    lessons: Sequence[Lesson], candidates: Mapping[int, MergeCandidate], sources: Sequence[SourceLine]
) -> list[Decision]:
    """One decision per explicit lesson; a skip that says how much of the day held no lesson."""
    decisions: list[Decision] = []
    for index, lesson in enumerate(lessons):
        candidate = candidates.get(index)
        if candidate is None:
            decisions.append(
                Create(title=title_of(lesson.text), content=lesson.text, citations=list(lesson.citations))
            )
        else:
            decisions.append(
                Merge(path=candidate.path, content=lesson.text, citations=list(lesson.citations))
            )
    cited = {c.ref for lesson in lessons for c in lesson.citations}
    plain = sum(1 for line in sources if line.ref not in cited)
    if plain:
        decisions.append(
            Skip(
                reason=f"{plain} source line(s) state no explicit lesson (no Lesson field, 'lesson:', "
                "[IMPORTANT], 'always' or 'never'); without a capable model they stay episodes"
            )
        )
    return decisions
