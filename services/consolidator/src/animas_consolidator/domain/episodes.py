"""Episode files as entries: parsed, grouped by likeness, rendered back exactly as memory-writer writes them.

memory-writer appends each entry as ``## HH:MM title`` and four fields (Trigger, Decision,
Result, Lesson). An entry is *standard* when rendering its parsed fields gives back its text
byte for byte: only such entries can be written again through an episode append unchanged, so
an ``[IMPORTANT]`` entry stays verbatim in a summary, and a file with any other entry is left alone.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

from animas_consolidator.domain.lessons import IMPORTANT
from animas_consolidator.domain.similarity import normalized, similarity

_HEADING = re.compile(r"^## (?P<time>\d{2}:\d{2}) (?P<title>.*)$")
_FIELD = re.compile(r"^- (?P<name>Trigger|Decision|Result|Lesson): (?P<value>.*)$")
_SUMMARY_OF = re.compile(r"\(summary of (?P<count>\d+) entries")
FIELDS = ("Trigger", "Decision", "Result", "Lesson")


@dataclasses.dataclass(frozen=True)
class Entry:
    """One entry of an episode file."""

    time: str
    title: str
    fields: dict[str, str]
    line: int
    """The 1-based line number of its heading."""
    text: str
    """Its lines as they stand in the file (without the blank line before it)."""

    @property
    def standard(self) -> bool:
        return set(self.fields) == set(FIELDS) and render(self) == self.text

    @property
    def important(self) -> bool:
        return IMPORTANT in self.text

    @property
    def summary(self) -> bool:
        """Written by an earlier weekly run: its title says how many entries it stands for."""
        return _SUMMARY_OF.search(self.title) is not None

    @property
    def count(self) -> int:
        """How many entries it stands for: a summary entry says so in its title."""
        found = _SUMMARY_OF.search(self.title)
        return int(found.group("count")) if found else 1

    @property
    def action(self) -> str:
        """What was done, as repeated actions are compared: title, decision and result."""
        return " ".join((self.title, self.fields.get("Decision", ""), self.fields.get("Result", "")))

    def field_line(self, name: str) -> int:
        """The line number of one of its fields (its heading when it has none)."""
        for offset, line in enumerate(self.text.split("\n")):
            if line.startswith(f"- {name}: "):
                return self.line + offset
        return self.line


@dataclasses.dataclass(frozen=True)
class EpisodeFile:
    """A parsed episode file: its heading, its entries and any text that is neither."""

    heading: str
    entries: tuple[Entry, ...]
    stray: tuple[int, ...]
    """Line numbers of non-empty lines outside any entry (besides the heading)."""


def render(entry: Entry) -> str:
    """The entry as memory-writer appends it (without the blank line before it)."""
    lines = [f"## {entry.time} {entry.title}"] + [
        f"- {name}: {entry.fields.get(name, '')}" for name in FIELDS
    ]
    return "\n".join(lines)


def parse(text: str) -> EpisodeFile:
    """The entries of an episode file."""
    lines = text.split("\n")
    heading = lines[0] if lines and lines[0].startswith("# ") else ""
    entries: list[Entry] = []
    stray: list[int] = []
    start: int | None = None

    def close(end: int) -> None:
        if start is None:
            return
        body = lines[start:end]
        while body and not body[-1].strip():
            body.pop()
        match = _HEADING.match(lines[start])
        assert match is not None
        fields = {}
        for line in body[1:]:
            field = _FIELD.match(line)
            if field is not None and field.group("name") not in fields:
                fields[field.group("name")] = field.group("value")
        entries.append(Entry(match.group("time"), match.group("title"), fields, start + 1, "\n".join(body)))

    for index, line in enumerate(lines):
        if index == 0 and heading:
            continue
        if _HEADING.match(line):
            close(index)
            start = index
        elif start is None and line.strip():
            stray.append(index + 1)
    close(len(lines))
    return EpisodeFile(heading=heading, entries=tuple(entries), stray=tuple(stray))


def alike(a: str, b: str, threshold: float) -> bool:
    """Whether two texts say the same: equal once normalised, or similar at ``threshold`` or above."""
    return normalized(a) == normalized(b) or similarity(a, b) >= threshold


def group_alike(texts: Sequence[str], threshold: float) -> list[list[int]]:
    """Positions of ``texts`` grouped by likeness to each group's first member, first seen first."""
    groups: list[list[int]] = []
    for index, text in enumerate(texts):
        for group in groups:
            if alike(texts[group[0]], text, threshold):
                group.append(index)
                break
        else:
            groups.append([index])
    return groups
