"""Merge candidates, computed before any model is asked: which existing knowledge a lesson duplicates.

The priming index says which knowledge files to look at (a search per lesson); this module
compares the lesson with each paragraph of those files and calls a file a merge candidate at or
above :data:`~animas_consolidator.domain.similarity.MERGE_THRESHOLD`, an exact duplicate when
the file already says it word for word.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from animas_consolidator.domain.lessons import Lesson
from animas_consolidator.domain.similarity import MERGE_THRESHOLD, normalized, similarity


@dataclasses.dataclass(frozen=True)
class MergeCandidate:
    """An existing knowledge file a lesson is (nearly) a duplicate of."""

    path: str
    score: float
    exact: bool


def split_frontmatter(text: str) -> tuple[dict[str, str], str]:
    """The frontmatter fields and the body of a memory file (memory-writer's ``key: value`` subset)."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        return {}, text
    for end in range(1, len(lines)):
        if lines[end].strip() == "---":
            fields = {}
            for line in lines[1:end]:
                key, sep, value = line.partition(":")
                if sep and key.strip():
                    value = value.strip()
                    if len(value) >= 2 and value[0] == value[-1] == '"':
                        value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
                    fields[key.strip()] = value
            return fields, "\n".join(lines[end + 1 :]).lstrip("\n")
    return {}, text


def paragraphs(body: str) -> list[str]:
    """The body's paragraphs and list items: the units a lesson is compared with."""
    units = [p.strip() for p in body.split("\n\n") if p.strip()]
    units += [line.strip().lstrip("-* ") for line in body.splitlines() if line.strip().startswith(("-", "*"))]
    return units


def best_match(
    lesson: str, files: Mapping[str, str], threshold: float = MERGE_THRESHOLD
) -> MergeCandidate | None:
    """The existing knowledge file most similar to ``lesson``, if one reaches ``threshold``."""
    best: MergeCandidate | None = None
    wanted = normalized(lesson)
    for path in sorted(files):
        _, body = split_frontmatter(files[path])
        if wanted and wanted in normalized(body):
            return MergeCandidate(path=path, score=1.0, exact=True)
        score = max((similarity(lesson, unit) for unit in paragraphs(body)), default=0.0)
        if score >= threshold and (best is None or score > best.score):
            best = MergeCandidate(path=path, score=round(score, 3), exact=False)
    return best


def merge_candidates(
    lessons: Sequence[Lesson], files: Mapping[str, str], threshold: float = MERGE_THRESHOLD
) -> dict[int, MergeCandidate]:
    """For each lesson (by position) that duplicates existing knowledge, the file it duplicates."""
    found = {}
    for index, lesson in enumerate(lessons):
        match = best_match(lesson.text, files, threshold)
        if match is not None:
            found[index] = match
    return found
