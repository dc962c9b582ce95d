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
from animas_contracts import AppendEpisode

_NO_LESSON = {"", "none", "n/a", "-"}
_SUMMARY_SUFFIX = re.compile(r" \(summary of \d+ entries, [^)]*\)$")


@dataclasses.dataclass(frozen=True)
class DaySummary:
    """What an episode file becomes: the appends that write its summary."""

    entries: tuple[AppendEpisode, ...]
    original_entries: int


def summarise_day(day: date, text: str, zone: ZoneInfo, threshold: float) -> DaySummary | str:
    """The summary of one day's episode file, or why it is left as it is."""
    parsed = parse(text)
    if parsed.stray or any(not (entry.standard and _valid_time(entry.time)) for entry in parsed.entries):
        return "it holds text that is not an episode entry, which a summary could not keep verbatim"
    if parsed.entries and all(entry.important or entry.count > 1 for entry in parsed.entries):
        return "it is a summary already"
    plain = [entry for entry in parsed.entries if not entry.important]
    groups = group_alike([entry.action for entry in plain], threshold)
    if len(groups) == len(plain):
        return "no entries repeat; there is nothing to compress"
    collapsed = [_collapsed([plain[i] for i in group]) for group in groups]
    kept = [entry for entry in parsed.entries if entry.important]
    ordered = sorted([*collapsed, *kept], key=lambda entry: entry.line)
    return DaySummary(
        entries=tuple(_append(day, zone, entry) for entry in ordered),
        original_entries=len(parsed.entries),
    )


def _collapsed(entries: Sequence[Entry]) -> Entry:
    """One entry standing for ``entries`` (the first one's words, the count and the time range)."""
    first = entries[0]
    if len(entries) == 1:
        return first
    count = sum(entry.count for entry in entries)
    span = f"{first.time}-{entries[-1].time}"
    title = f"{_SUMMARY_SUFFIX.sub('', first.title)} (summary of {count} entries, {span})"
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
