"""The latency corpus: distinct memory sections made of LoCoMo turns, their files and texts."""

from __future__ import annotations

import dataclasses
import json
import random
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from recall.locomo import Turn, section_body


@dataclasses.dataclass(frozen=True)
class Section:
    """One synthetic memory section (one chunk) of the latency corpus."""

    memory_type: str
    file: str
    heading: str
    body: str


def first_clause(text: str) -> str:
    """The text up to its first sentence end, at most 160 characters."""
    clause = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
    return clause[:160]


def synthetic_sections(turns: Sequence[Turn], count: int, seed: int = 7) -> list[Section]:
    """``count`` distinct sections made of LoCoMo turns; any prefix is a corpus of its own.

    Mostly episodes (a day file of 40 turns, days in a row), with knowledge notes, procedures and
    skills, and an ``[IMPORTANT]`` note now and then, like an anima's memory after years of work.
    """
    rng = random.Random(seed)
    start = date(2019, 1, 1)
    sections: list[Section] = []
    counters = {"episodes": 0, "knowledge": 0, "procedures": 0, "skills": 0}
    for _ in range(count):
        base = turns[rng.randrange(len(turns))]
        extra = turns[rng.randrange(len(turns))]
        text = f"{base.text} {' '.join(extra.text.split()[:8])}"
        pick = rng.random()
        memory_type = (
            "episodes"
            if pick < 0.84
            else "knowledge"
            if pick < 0.96
            else "procedures"
            if pick < 0.98
            else "skills"
        )
        n = counters[memory_type]
        counters[memory_type] += 1
        words = " ".join(base.text.split()[:6])
        if memory_type == "episodes":
            day = start + timedelta(days=n // 40)
            minute = (n % 40) * 17
            file = f"episodes/{day.isoformat()}.md"
            heading = f"{minute // 60 + 8:02d}:{minute % 60:02d} {base.speaker}"
        elif memory_type == "knowledge":
            file = f"knowledge/{base.speaker.lower()}-notes-{n // 8}.md"
            heading = f"{base.speaker}: {words}"
            if n % 500 == 0:
                text = f"[IMPORTANT] {text}"
        elif memory_type == "procedures":
            file = f"procedures/routine-{n // 4}.md"
            heading = f"How to follow up on: {words}"
        else:
            file = f"skills/skill-{n // 4}.md"
            heading = f"Skill: {words}"
        sections.append(Section(memory_type, file, heading, section_body(text)))
    return sections


def render_files(sections: Sequence[Section], limit: int) -> dict[str, list[int]]:
    """Files of the first ``limit`` sections: path to section indices, in order."""
    files: dict[str, list[int]] = {}
    for i, section in enumerate(sections[:limit]):
        files.setdefault(section.file, []).append(i)
    return files


def file_text(path: str, sections: Sequence[Section], members: Sequence[int]) -> str:
    """The Markdown of one synthetic memory file."""
    if path.startswith("episodes/"):
        title = f"# {path[9:19]} Action Log"
    else:
        title = f"# {path.rsplit('/', 1)[-1].removesuffix('.md').replace('-', ' ').title()}"
    lines = [title, ""]
    for i in members:
        lines += [f"## {sections[i].heading}", sections[i].body, ""]
    return "\n".join(lines)


def chunk_texts(sections: Sequence[Section]) -> list[str]:
    """Each section's chunk text, as ``chunk_file`` cuts it from its file (what is embedded)."""
    return [f"## {section.heading}\n{section.body}" for section in sections]


def activity_log(turns: Sequence[Turn], rng: random.Random, day: date) -> str:
    """A day's activity log (JSONL) with messages, replies, tool calls and bookkeeping entries."""
    today = datetime(day.year, day.month, day.day, 8, tzinfo=UTC)
    kinds = ("message_received", "response_sent", "tool_use", "cycle_start", "cycle_end", "llm_call")
    lines = []
    for i in range(60):
        turn = turns[rng.randrange(len(turns))]
        kind = kinds[i % len(kinds)]
        entry: dict[str, str] = {
            "ts": (today + timedelta(minutes=7 * i)).isoformat(),
            "type": kind,
            "summary": turn.text[:120],
        }
        entry["from" if kind == "message_received" else "to"] = turn.speaker
        lines.append(json.dumps(entry))
    return "\n".join(lines) + "\n"
