"""Repeated actions of the week distilled into knowledge (weekly consolidation, deterministic).

An action repeated ``min_repeats`` times or more in the week (entries alike at the duplicate
threshold) becomes one decision: create
one knowledge file that says what is done routinely and cites every entry it rests on, or merge
into the knowledge file that already says it. Fifty near-identical entries are one file, not fifty.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from animas_consolidator.domain.candidates import best_match
from animas_consolidator.domain.decisions import Citation, Create, Decision, Merge
from animas_consolidator.domain.episodes import Entry, group_alike


@dataclasses.dataclass(frozen=True)
class DatedEntry:
    """An entry of the week and the episode file it is in."""

    path: str
    day: str
    entry: Entry


def pattern_text(entries: Sequence[DatedEntry], count: int) -> str:
    """What the knowledge file says of a routine."""
    first, last = entries[0], entries[-1]
    fields = first.entry.fields
    when = first.day if first.day == last.day else f"between {first.day} and {last.day}"
    return (
        f"A routine: {fields['Decision']} (result: {fields['Result']}; usually on {fields['Trigger']}). "
        f"Done {count} times {when}."
    )


def pattern_decisions(
    week: Sequence[DatedEntry], knowledge: Mapping[str, str], min_repeats: int, threshold: float
) -> tuple[list[Decision], int]:
    """One decision per repeated action not known yet, and how many entries no pattern covered.

    Summary entries (of days summarised by an earlier weekly run) stand for weeks already
    distilled and are left out; a routine whose entries the knowledge file cites already is
    known, so a second run over the same week decides nothing.
    """
    usable = [
        item for item in week if item.entry.standard and not item.entry.important and not item.entry.summary
    ]
    decisions: list[Decision] = []
    covered = 0
    for group in group_alike([item.entry.action for item in usable], threshold):
        members = [usable[i] for i in group]
        if len(members) < min_repeats:
            continue
        covered += len(members)
        content = pattern_text(members, len(members))
        existing = best_match(content, knowledge, threshold)
        if existing is not None:
            cited = knowledge[existing.path]
            members = [item for item in members if f" {_ref(item)}: " not in cited]
            if not members:
                continue
            content = pattern_text(members, len(members))
        citations = [Citation(ref=_ref(item), quote=item.entry.fields["Decision"]) for item in members]
        if existing is None:
            title = f"Routine: {members[0].entry.fields['Decision']}"
            decisions.append(Create(title=title, content=content, citations=citations))
        else:
            decisions.append(Merge(path=existing.path, content=content, citations=citations))
    return decisions, len(usable) - covered


def _ref(item: DatedEntry) -> str:
    return f"{item.path}:{item.entry.field_line('Decision')}"
