"""From checked decisions to memory operations, each with a key the operation's id derives from.

The key names the decision (action, file, digest of what it writes), so the same decision of a
run killed and run again gets the same ``memory.op.requested`` id and is applied once. A
knowledge file written here keeps its sources: frontmatter ``sources`` lists every cited line,
and the body ends with a ``## Sources`` section quoting them with the day.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Generic, TypeVar

from animas_consolidator.domain.candidates import split_frontmatter
from animas_consolidator.domain.citations import KNOWLEDGE
from animas_consolidator.domain.decisions import Citation, Create, Decision, Merge, Skip, Supersede
from animas_consolidator.domain.similarity import contains
from animas_contracts import MemoryOp, WriteKnowledge

SOURCES_HEADING = "## Sources"
ORIGIN = "consolidation"
_SLUG = re.compile(r"[^\w]+")


OpT = TypeVar("OpT", bound=MemoryOp, covariant=True)


@dataclasses.dataclass(frozen=True)
class PlannedOp(Generic[OpT]):
    """One memory operation of the run and the decision it carries out."""

    key: str
    action: str
    """create, merge or supersede (weekly adds archive, compress and summary)."""
    op: OpT


@dataclasses.dataclass(frozen=True)
class Plan:
    """What the run will ask memory-writer to do, and what it decided to leave out."""

    ops: tuple[PlannedOp[WriteKnowledge], ...]
    skips: tuple[str, ...]


def slug(title: str, limit: int = 60) -> str:
    """A file name for a title: lower-case words joined by dashes (letters of any script kept)."""
    words = _SLUG.sub("-", title.casefold()).strip("-_")
    return (words[:limit].rstrip("-") or "lesson").replace("_", "-")


def source_lines(citations: Sequence[Citation], day: str) -> list[str]:
    """The ``## Sources`` entries of some citations."""
    return [f'- {day} {c.ref}: "{" ".join(c.quote.split())}"' for c in citations]


def _with_sources(body: str, entries: Sequence[str]) -> str:
    body = body.rstrip("\n")
    new = [e for e in entries if e not in body]
    if not new:
        return body
    if SOURCES_HEADING not in body:
        body += f"\n\n{SOURCES_HEADING}"
    return body + "\n" + "\n".join(new)


def _fields(existing: Mapping[str, str], citations: Sequence[Citation], day: str) -> dict[str, str]:
    refs = [r for r in existing.get("sources", "").split("; ") if r]
    refs += [c.ref for c in citations if c.ref not in refs]
    return {"origin": existing.get("origin", ORIGIN), "sources": "; ".join(refs), "consolidated": day}


def op_key(action: str, path: str, content: str) -> str:
    """A decision's key: what it does, where, and a digest of what it writes."""
    return f"{action}:{path}:{hashlib.sha256(content.encode()).hexdigest()[:16]}"


def plan(decisions: Sequence[Decision], files: Mapping[str, str], day: str) -> Plan:
    """The operations that carry out ``decisions`` (already checked) on the knowledge ``files``.

    Several decisions on one file build on each other; a merge that adds nothing new (the file
    already says it and cites the same lines) becomes a skip.
    """
    current = dict(files)
    ops: list[PlannedOp[WriteKnowledge]] = []
    skips: list[str] = []
    for decision in decisions:
        if isinstance(decision, Skip):
            skips.append(decision.reason)
            continue
        entries = source_lines(decision.citations, day)
        if isinstance(decision, Create):
            path = _free_path(f"{KNOWLEDGE}{slug(decision.title)}.md", current)
            fields, action = _fields({}, decision.citations, day), "create"
            body = _with_sources(f"# {decision.title.strip()}\n\n{decision.content.strip()}", entries)
        else:
            fields_before, before = split_frontmatter(current[decision.path])
            path, fields = decision.path, _fields(fields_before, decision.citations, day)
            if isinstance(decision, Supersede):
                action = "supersede"
                body = _with_sources(decision.content.strip(), entries)
            else:
                action = "merge"
                body = _merge_body(before, decision, entries)
                if body == before.rstrip("\n"):
                    skips.append(f"already known: {path} says it and cites the same lines")
                    continue
        op = WriteKnowledge(path=path, content=body, frontmatter=fields)
        ops.append(PlannedOp(key=op_key(action, path, body), action=action, op=op))
        current[path] = "---\n" + "".join(f"{k}: {v}\n" for k, v in sorted(fields.items())) + "---\n\n" + body
    return Plan(ops=tuple(ops), skips=tuple(skips))


def _merge_body(before: str, decision: Merge, entries: Sequence[str]) -> str:
    text, sources = before.rstrip("\n"), ""
    if SOURCES_HEADING in text:
        text, _, rest = text.partition(SOURCES_HEADING)
        text, sources = text.rstrip("\n"), SOURCES_HEADING + rest
    if not contains(text, decision.content):
        text += f"\n\n{decision.content.strip()}"
    merged = f"{text}\n\n{sources}" if sources else text
    return _with_sources(merged, entries)


def _free_path(path: str, taken: Mapping[str, str]) -> str:
    stem, number = path.removesuffix(".md"), 2
    while path in taken:
        path, number = f"{stem}-{number}.md", number + 1
    return path
