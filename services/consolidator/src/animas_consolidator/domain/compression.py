"""Compressing an old episode file into a summary (weekly consolidation, deterministic).

Entries that say the same (alike at the duplicate threshold) collapse into one entry that says
how many they were and between which times; distinct lessons are all kept. ``[IMPORTANT]``
entries are never collapsed: they are written again verbatim. The original file goes to the
archive first (memory-writer's archive op), so nothing is lost; the summary is then written
through episode appends, entry by entry, in the order of the day.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from animas_consolidator.domain.episodes import Entry, group_alike, parse
from animas_consolidator.domain.summary_prompt import SummaryGroup, coverage_problem, entry_ref
from animas_contracts import AppendEpisode

_NO_LESSON = {"", "none", "n/a", "-"}
_SUMMARY_SUFFIX = re.compile(r" \(summary of \d+ entries, [^)]*\)$")


@dataclasses.dataclass(frozen=True)
class DaySummary:
    """What an episode file becomes: the appends that write its summary."""

    entries: tuple[AppendEpisode, ...]
    original_entries: int


def compressible(text: str) -> list[Entry] | str:
    """The entries of a day's file that a summary may collapse (all but ``[IMPORTANT]``), or why none."""
    parsed = parse(text)
    if parsed.stray or any(not (entry.standard and _valid_time(entry.time)) for entry in parsed.entries):
        return "it holds text that is not an episode entry, which a summary could not keep verbatim"
    if parsed.entries and all(entry.important or entry.summary for entry in parsed.entries):
        return "it is a summary already"
    return [entry for entry in parsed.entries if not entry.important]


def summarise_day(day: date, text: str, zone: ZoneInfo, threshold: float) -> DaySummary | str:
    """The deterministic summary of one day's episode file, or why it is left as it is."""
    plain = compressible(text)
    if isinstance(plain, str):
        return plain
    groups = group_alike([entry.action for entry in plain], threshold)
    if len(groups) == len(plain):
        return "no entries repeat; there is nothing to compress"
    return _summary(day, text, zone, [_collapsed([plain[i] for i in group]) for group in groups])


def summary_from_groups(
    day: date, path: str, text: str, zone: ZoneInfo, groups: Sequence[SummaryGroup]
) -> DaySummary | str:
    """The summary the model wrote for one day's file, or why it cannot be used."""
    plain = compressible(text)
    if isinstance(plain, str):
        return plain
    problem = coverage_problem(path, plain, groups)
    if problem is not None:
        return f"the model's summary {problem}"
    by_ref = {entry_ref(path, entry): entry for entry in plain}
    collapsed = []
    for group in groups:
        members = sorted((by_ref[ref] for ref in group.refs), key=lambda entry: entry.line)
        merged = _collapsed(members, title=" ".join(group.title.split()))
        summary = " ".join(group.summary.split())
        collapsed.append(dataclasses.replace(merged, fields={**merged.fields, "Decision": summary}))
    return _summary(day, text, zone, collapsed)


def _summary(day: date, text: str, zone: ZoneInfo, collapsed: Sequence[Entry]) -> DaySummary:
    entries = parse(text).entries
    kept = [entry for entry in entries if entry.important]
    ordered = sorted([*collapsed, *kept], key=lambda entry: entry.line)
    appends = tuple(_append(day, zone, entry) for entry in ordered)
    return DaySummary(entries=appends, original_entries=len(entries))


def _collapsed(entries: Sequence[Entry], title: str | None = None) -> Entry:
    """One entry standing for ``entries`` (the first one's words, the count and the time range)."""
    first = entries[0]
    if len(entries) == 1 and title is None:
        return first
    count = sum(entry.count for entry in entries)
    span = f"{first.time}-{entries[-1].time}"
    title = f"{_SUMMARY_SUFFIX.sub('', title or first.title)} (summary of {count} entries, {span})"
    decisions = list(dict.fromkeys(entry.fields["Decision"] for entry in entries))
    decision = decisions[0] + (f" (and {len(decisions) - 1} variant(s))" if len(decisions) > 1 else "")
    lessons = [e.fields["Lesson"] for e in entries if e.fields["Lesson"].strip().casefold() not in _NO_LESSON]
    fields = {
        "Trigger": first.fields["Trigger"],
        "Decision": decision,
        "Result": first.fields["Result"],
        "Lesson": "; ".join(dict.fromkeys(lessons)) or "None",
    }
    return dataclasses.replace(first, title=title, fields=fields)


def _append(day: date, zone: ZoneInfo, entry: Entry) -> AppendEpisode:
    hour, minute = (int(part) for part in entry.time.split(":"))
    return AppendEpisode(
        title=entry.title,
        at=datetime.combine(day, time(hour, minute), tzinfo=zone),
        trigger=entry.fields["Trigger"],
        decision=entry.fields["Decision"],
        result=entry.fields["Result"],
        lesson=entry.fields["Lesson"],
    )


def _valid_time(text: str) -> bool:
    hour, minute = (int(part) for part in text.split(":"))
    return hour < 24 and minute < 60
