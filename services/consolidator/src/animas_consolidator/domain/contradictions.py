"""Contradiction candidates, computed before any model is asked: knowledge the day corrects.

A source line *corrects* when it carries a change cue ("no longer", "not … anymore", "instead",
"now", "actually"; もう…ない, ではなく, 代わりに, 今は, 訂正). It is a contradiction candidate of
an existing knowledge file when both are about the same subject (the file's title words occur
in the line, or a statement of the file shares most of its words with it) and the file's
statement is not what the line says. The model decides what to do with a candidate; without a
model only an *explicit* correction supersedes: said by a person (a peer's conversation turn),
with a negating cue, naming the old fact (a word of the old statement that is not a subject
word occurs in the line). Anything weaker stays as it is, and the run says so.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence

from animas_consolidator.domain.candidates import paragraphs, split_frontmatter
from animas_consolidator.domain.decisions import Citation, Decision, Skip, Supersede
from animas_consolidator.domain.similarity import normalized, similarity, tokens
from animas_consolidator.domain.sources import SourceLine

TOPIC_THRESHOLD = 0.4
"""At or above this similarity a statement of a file and a correcting line share their subject."""

_CHANGE = re.compile(
    r"\b(no longer|any ?more|instead|now|actually|correction|changed)\b"
    r"|ではなく|じゃなく|代わりに|今は|もう|訂正|変わ",
    re.IGNORECASE,
)
_NEGATING = re.compile(
    r"\b(no longer|not\b[^.!?]*\bany ?more|instead of|rather than)\b"
    r"|ではなく|じゃなく|もう[^。！？]*ない|代わりに",
    re.IGNORECASE,
)
_STOP = frozenset(
    {"a", "an", "the", "is", "are", "was", "were", "be", "to", "of", "and", "or", "in", "on", "at", "for"}
    | {"with", "by", "it", "this", "that", "now", "no", "not", "any", "more", "anymore", "longer"}
    | {"instead", "actually"}
)


@dataclasses.dataclass(frozen=True)
class ContradictionCandidate:
    """An existing statement a line of the day may contradict."""

    path: str
    statement: str
    """The paragraph or list item of the file the line is about."""
    line: SourceLine
    explicit: bool
    """A person's negating correction that names the old fact: the fallback supersedes it."""


def corrections(sources: Sequence[SourceLine]) -> list[SourceLine]:
    """The lines of the day that carry a change cue."""
    return [line for line in sources if _CHANGE.search(line.text)]


def title_of_file(text: str) -> str:
    """A knowledge file's subject line: frontmatter ``title``, else its first ``# `` heading."""
    fields, body = split_frontmatter(text)
    if fields.get("title"):
        return fields["title"]
    for line in body.splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return ""


def _content_words(text: str) -> set[str]:
    return {word for word in tokens(text) if word not in _STOP}


def _same_subject(title: str, statement: str, line: str) -> bool:
    subject = _content_words(title)
    words = _content_words(line)
    if subject and len(subject & words) * 2 >= len(subject):
        return True
    return similarity(statement, line) >= TOPIC_THRESHOLD


def _names_old_fact(title: str, statement: str, line: str) -> bool:
    claim = _content_words(statement) - _content_words(title)
    return bool(claim & _content_words(line))


def _statements(body: str) -> list[str]:
    before_sources = body.partition("## Sources")[0]
    return [
        unit
        for unit in paragraphs(before_sources)
        if not unit.startswith("#") and not unit.lstrip("-* ").startswith("#")
    ]


def contradiction_candidates(
    sources: Sequence[SourceLine], files: Mapping[str, str]
) -> list[ContradictionCandidate]:
    """Every (file statement, correcting line) pair about one subject where the line says otherwise."""
    found: list[ContradictionCandidate] = []
    for line in corrections(sources):
        for path in sorted(files):
            title = title_of_file(files[path])
            _, body = split_frontmatter(files[path])
            best: tuple[float, str] | None = None
            for statement in _statements(body):
                if normalized(statement) in normalized(line.text):
                    best = None  # the line repeats what is known: no contradiction in this file
                    break
                if _same_subject(title, statement, line.text):
                    score = similarity(statement, line.text)
                    if best is None or score > best[0]:
                        best = (score, statement)
            if best is not None:
                statement = best[1]
                explicit = (
                    line.from_peer
                    and _NEGATING.search(line.text) is not None
                    and _names_old_fact(title, statement, line.text)
                )
                found.append(ContradictionCandidate(path, statement, line, explicit))
    return found


def superseded_body(text: str, candidate: ContradictionCandidate) -> str:
    """The file's body with the contradicted statement replaced by the correction (sources kept)."""
    _, body = split_frontmatter(text)
    if candidate.statement in body:
        return body.replace(candidate.statement, candidate.line.text, 1)
    title = title_of_file(text)
    return f"# {title}\n\n{candidate.line.text}" if title else candidate.line.text


def contradiction_fallback(
    candidates: Sequence[ContradictionCandidate], files: Mapping[str, str]
) -> tuple[list[Decision], set[str], list[Decision]]:
    """Without a model: a supersede per explicit correction (one per file), a skip for each other one.

    Returns the supersedes, the references of the lines they rest on, and the skips.
    """
    supersedes: list[Decision] = []
    corrected: set[str] = set()
    skips: list[Decision] = []
    done: set[str] = set()
    for candidate in candidates:
        if candidate.explicit and candidate.path not in done:
            done.add(candidate.path)
            corrected.add(candidate.line.ref)
            supersedes.append(
                Supersede(
                    path=candidate.path,
                    content=superseded_body(files[candidate.path], candidate),
                    reason=f"corrected by {candidate.line.ref}",
                    citations=[Citation(ref=candidate.line.ref, quote=candidate.line.text)],
                )
            )
        elif not candidate.explicit:
            skips.append(
                Skip(
                    reason=f'{candidate.line.ref} may contradict {candidate.path} ("{candidate.statement}"), '
                    "but it is no explicit correction by a person naming the old fact; "
                    "without a capable model the file stays as it is"
                )
            )
    return supersedes, corrected, skips
