"""Explicit lessons: what the day's sources say outright is worth keeping, found without a model.

A lesson is explicit when an episode's ``Lesson:`` field names one (the assisted mode and the
framework write it), a line says ``lesson: …`` or carries ``[IMPORTANT]``, or someone talking
to the anima states a rule ("always …", "never …"; 必ず, 常に, 決して). Each lesson keeps a
citation of the line it came from, so the fallback's decisions pass the same checks as the
model's. Duplicates within the day (exactly the same, or similar at or above the merge
threshold) become one lesson citing every line.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence

from animas_consolidator.domain.decisions import Citation
from animas_consolidator.domain.similarity import MERGE_THRESHOLD, normalized, similarity
from animas_consolidator.domain.sources import SourceKind, SourceLine

IMPORTANT = "[IMPORTANT]"
_LESSON_FIELD = re.compile(r"^-?\s*lesson\s*:\s*(?P<text>.+)$", re.IGNORECASE)
_LESSON_ANYWHERE = re.compile(r"\blesson\s*:\s*(?P<text>.+)$", re.IGNORECASE)
_RULE = re.compile(r"\b(always|never)\b|必ず|常に|決して|絶対に", re.IGNORECASE)
_SENTENCE = re.compile(r"[^.!?。！？]+[.!?。！？]?")
_NOTHING = {"none", "n/a", "-", "nothing", "なし"}


@dataclasses.dataclass(frozen=True)
class Lesson:
    """A lesson and the source lines it rests on."""

    text: str
    citations: tuple[Citation, ...]


def _rule_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.findall(text) if _RULE.search(s) and len(s.strip()) > 3]


def lessons_of(line: SourceLine) -> list[Lesson]:
    """The explicit lessons of one source line (most lines have none)."""
    text = line.text
    found: list[str] = []
    field = _LESSON_FIELD.match(text) or _LESSON_ANYWHERE.search(text)
    if field is not None:
        found.append(field.group("text").strip())
    elif IMPORTANT in text:
        found.append(text.replace(IMPORTANT, "").strip().lstrip("-* ").strip())
    elif line.kind is SourceKind.SHORTTERM or line.from_peer:
        # The anima's own replies promise things ("I will always…"), and episode lines quote those
        # replies: rules come from what others said to it and from its saved working state.
        found += _rule_sentences(text)
    return [
        Lesson(text=lesson, citations=(Citation(ref=line.ref, quote=lesson),))
        for lesson in found
        if lesson and lesson.casefold().strip(" .") not in _NOTHING
    ]


def explicit_lessons(lines: Iterable[SourceLine], threshold: float = MERGE_THRESHOLD) -> list[Lesson]:
    """Every explicit lesson of the day, duplicates merged (the first wording wins, all citations kept)."""
    merged: list[Lesson] = []
    for line in lines:
        for lesson in lessons_of(line):
            merged = _merge_into(merged, lesson, threshold)
    return merged


def _merge_into(lessons: Sequence[Lesson], lesson: Lesson, threshold: float) -> list[Lesson]:
    for index, kept in enumerate(lessons):
        if (
            normalized(kept.text) == normalized(lesson.text)
            or similarity(kept.text, lesson.text) >= threshold
        ):
            citations = kept.citations + tuple(c for c in lesson.citations if c not in kept.citations)
            return [*lessons[:index], dataclasses.replace(kept, citations=citations), *lessons[index + 1 :]]
    return [*lessons, lesson]


def title_of(text: str, words: int = 8) -> str:
    """A short title for a lesson: its first words."""
    first = " ".join(text.split()[:words]).rstrip(".,:;")
    return first if len(text.split()) <= words else first + " …"
