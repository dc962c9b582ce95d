"""Repeated actions of the week distilled into procedures (weekly consolidation, deterministic).

An action repeated ``min_repeats`` times or more in the week (entries alike at the duplicate
threshold) becomes one routine procedure, ``procedures/routine-<slug>.md``, written through
memory-writer's procedure op with the confidence of any distilled procedure (0.4): when it is
done, what is done, and the evidence, every entry it rests on cited by file and line. When a
procedure at least :data:`~animas_consolidator.domain.procedures.DUPLICATE_THRESHOLD` alike
exists, the new evidence is merged into it (a revision) instead of writing a second one; when it
cites every entry already, nothing is decided, so a second run over the same week changes nothing.
Fifty near-identical entries are one procedure, not fifty.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from animas_consolidator.domain.candidates import split_frontmatter
from animas_consolidator.domain.decisions import Citation
from animas_consolidator.domain.episodes import Entry, group_alike
from animas_consolidator.domain.plan import PlannedOp, op_key, slug, source_lines
from animas_consolidator.domain.procedures import DISTILLED_CONFIDENCE, DUPLICATE_THRESHOLD, PROCEDURES
from animas_consolidator.domain.similarity import similarity
from animas_contracts import WriteProcedure

ROUTINE = "Routine: "
EVIDENCE_HEADING = "## Evidence"


@dataclasses.dataclass(frozen=True)
class DatedEntry:
    """An entry of the week and the episode file it is in."""

    path: str
    day: str
    entry: Entry


@dataclasses.dataclass(frozen=True)
class Routines:
    """The routine procedures of a week, what was left out, and how many entries no routine covered."""

    ops: list[PlannedOp[WriteProcedure]]
    skips: list[str]
    uncovered: int


def routine_steps(entries: Sequence[DatedEntry]) -> str:
    """What the procedure says of a routine, its evidence aside."""
    fields = entries[0].entry.fields
    return (
        f"# {ROUTINE}{fields['Decision']}\n\n"
        f"## When to use\n\n{fields['Trigger']}\n\n"
        f"## Steps\n\n{fields['Decision']}\n\nUsual result: {fields['Result']}\n"
    )


def evidence(entries: Sequence[DatedEntry], day: str) -> str:
    """How often the routine was seen this week and the entries, cited as ``path:line``."""
    first, last = entries[0], entries[-1]
    when = first.day if first.day == last.day else f"between {first.day} and {last.day}"
    cited = [Citation(ref=_ref(item), quote=item.entry.fields["Decision"]) for item in entries]
    return f"Done {len(entries)} times {when}.\n\n" + "\n".join(source_lines(cited, day)) + "\n"


def routine_procedures(
    week: Sequence[DatedEntry], procedures: Mapping[str, str], min_repeats: int, threshold: float, day: str
) -> Routines:
    """One procedure op per repeated action of the week not recorded yet.

    ``procedures`` are the anima's procedure files (path -> text). Summary entries (of days
    summarised by an earlier weekly run) stand for weeks already distilled and are left out.
    """
    usable = [
        item for item in week if item.entry.standard and not item.entry.important and not item.entry.summary
    ]
    bodies = {path: split_frontmatter(text)[1] for path, text in procedures.items()}
    ops: list[PlannedOp[WriteProcedure]] = []
    skips: list[str] = []
    covered = 0
    for group in group_alike([item.entry.action for item in usable], threshold):
        members = [usable[i] for i in group]
        if len(members) < min_repeats:
            continue
        covered += len(members)
        steps = routine_steps(members)
        existing = _alike(steps, bodies)
        if existing is None:
            path = _free(f"{PROCEDURES}routine-{slug(members[0].entry.fields['Decision'], 50)}.md", bodies)
            body = f"{steps}\n{EVIDENCE_HEADING}\n\n{evidence(members, day)}"
            description = f"{ROUTINE}{' '.join(members[0].entry.fields['Decision'].split())[:200]}"
            op = WriteProcedure(
                path=path, content=body, description=description, confidence=DISTILLED_CONFIDENCE
            )
            ops.append(PlannedOp(op_key("procedure", path, body), "procedure", op))
            bodies[path] = body
            continue
        fresh = [item for item in members if f" {_ref(item)}: " not in bodies[existing]]
        if not fresh:
            skips.append(f"routine {members[0].entry.action!r}: {existing} cites every entry already")
            continue
        body = _with_evidence(bodies[existing], evidence(fresh, day))
        description = split_frontmatter(procedures.get(existing, ""))[0].get("description", "")
        op = WriteProcedure(path=existing, content=body, description=description)
        ops.append(PlannedOp(op_key("revise", existing, body), "revise", op))
        bodies[existing] = body
    return Routines(ops, skips, len(usable) - covered)


def _alike(steps: str, bodies: Mapping[str, str]) -> str | None:
    """The procedure that already says these steps (its evidence aside), if any."""
    scored = [(similarity(_gist(body), _gist(steps)), path) for path, body in sorted(bodies.items())]
    best = max(scored, default=None, key=lambda pair: pair[0])
    return best[1] if best is not None and best[0] >= DUPLICATE_THRESHOLD else None


def _gist(body: str) -> str:
    """A procedure's text without its evidence and section headings (every routine shares those)."""
    text = body.partition(EVIDENCE_HEADING)[0]
    return "\n".join(line for line in text.split("\n") if not line.startswith("## "))


def _with_evidence(body: str, more: str) -> str:
    text = body.rstrip("\n")
    if EVIDENCE_HEADING not in text:
        text += f"\n\n{EVIDENCE_HEADING}"
    return f"{text}\n\n{more}"


def _free(path: str, taken: Mapping[str, str]) -> str:
    stem, n = path.removesuffix(".md"), 2
    while path in taken:
        path, n = f"{stem}-{n}.md", n + 1
    return path


def _ref(item: DatedEntry) -> str:
    return f"{item.path}:{item.entry.field_line('Decision')}"
