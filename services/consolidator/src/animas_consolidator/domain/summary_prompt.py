"""Summaries of old episode files asked of the anima's model: the prompt and the answer's schema.

The model groups the entries of each day that describe the same activity and writes one short
summary per group, citing every entry of the group by its reference. The answer is validated:
a group citing an entry that is not listed, or a day whose entries are not each cited exactly
once, is not used (that day is collapsed deterministically instead), so nothing is dropped
silently. ``[IMPORTANT]`` entries are never shown: they stay verbatim.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from animas_consolidator.domain.decisions import InvalidAnswer
from animas_consolidator.domain.episodes import Entry


class SummaryGroup(msgspec.Struct, frozen=True, kw_only=True):
    """Entries of one day that describe the same activity, summarised."""

    title: Annotated[str, Meta(min_length=1, max_length=120, description="A short title for the activity.")]
    summary: Annotated[str, Meta(min_length=1, max_length=1000, description="One or two sentences.")]
    refs: Annotated[list[str], Meta(min_length=1, description="Every entry of the group, exactly as listed.")]


class DaySummaries(msgspec.Struct, frozen=True, kw_only=True):
    """The groups of one episode file."""

    path: Annotated[str, Meta(description="The episode file, exactly as listed.")]
    groups: list[SummaryGroup]


class SummaryAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """The model's whole answer."""

    days: list[DaySummaries]


SYSTEM = """You summarise old episode logs of {anima}, an AI agent, so its memory stays small.
For each listed file, group the entries that describe the same activity and write, per group, a
short title and a summary of one or two sentences (what was done, what came of it). Keep facts
that differ between entries (names, numbers, outcomes). Every entry must be in exactly one group;
cite each by its reference exactly as listed. A file whose entries are not all cited once is
not used.

Answer with one JSON object, nothing else, matching this JSON Schema:
{schema}"""


def entry_ref(path: str, entry: Entry) -> str:
    """How an entry is cited: its file and the line of its heading."""
    return f"{path}:{entry.line}"


def summary_messages(anima: str, days: Mapping[str, Sequence[Entry]]) -> list[dict[str, str]]:
    """The request: each file's entries, one line each, under their references."""
    schema = json.dumps(answer_schema(), ensure_ascii=False)
    lines: list[str] = []
    for path in sorted(days):
        lines.append(f"## {path}")
        for entry in days[path]:
            fields = " | ".join(f"{name}: {value}" for name, value in entry.fields.items())
            lines.append(f"[{entry_ref(path, entry)}] {entry.time} {entry.title} | {fields}")
        lines.append("")
    return [
        {"role": "system", "content": SYSTEM.format(anima=anima, schema=schema)},
        {"role": "user", "content": "\n".join(lines).strip()},
    ]


def parse_summary_answer(text: str) -> dict[str, list[SummaryGroup]]:
    """The groups of each file in the model's answer.

    Raises:
        InvalidAnswer: No JSON object, or not of the schema's shape; the message says what.
    """
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start:
        raise InvalidAnswer(f"the answer holds no JSON object: {text[:200]!r}")
    try:
        answer = msgspec.json.decode(text[start : end + 1], type=SummaryAnswer)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise InvalidAnswer(f"the answer does not match the summary schema: {exc}") from None
    return {day.path: list(day.groups) for day in answer.days}


def coverage_problem(path: str, entries: Sequence[Entry], groups: Sequence[SummaryGroup]) -> str | None:
    """Why the groups cannot stand for ``entries`` (an entry cited twice, never, or one not listed)."""
    wanted = {entry_ref(path, entry) for entry in entries}
    cited: list[str] = [ref for group in groups for ref in group.refs]
    unknown = sorted(set(cited) - wanted)
    if unknown:
        return f"cites {unknown[0]}, which is not an entry of {path}"
    twice = sorted({ref for ref in cited if cited.count(ref) > 1})
    if twice:
        return f"cites {twice[0]} more than once"
    missing = sorted(wanted - set(cited))
    if missing:
        return f"leaves out {len(missing)} entries (e.g. {missing[0]})"
    return None


def answer_schema() -> dict[str, Any]:
    """The JSON Schema the answer must match."""
    return msgspec.json.schema(SummaryAnswer)
