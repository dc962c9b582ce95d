"""The anima's memory: the facts among confusers and distractors, as knowledge and episode files.

Knowledge files carry memory-writer's frontmatter (``created``/``updated``) and one ``## heading``
section per item (seed 003 §4.6); episode day files are ``# YYYY-MM-DD Action Log`` with
``## HH:MM title`` entries of Trigger / Decision / Result / Lesson (seed 003 §4.5, as
``append_episode`` writes them). Dates count back from ``today`` so recency weighs the same
whenever the benchmark runs.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from datetime import date, timedelta

from .distractors import Distractor, distractors
from .facts import Fact

ANIMA = "hinata"
IDENTITY = """# Hinata

Hinata is the office assistant of Kazemori Logistics, a small freight company.
She keeps track of the office, the servers, the warehouses and the people, and answers colleagues' questions.

## Values
- Be exact with names, numbers and codes.
"""
DAYS = 90
"""Episodes spread over the last ``DAYS`` days."""
NOTES_PER_FILE = 12
TRIGGERS = ("Message received", "Heartbeat", "Cron: morning review", "Message received")
DECISIONS = (
    "Checked the request against the records and answered it",
    "Wrote down what I learned for later",
    "Confirmed the detail with the person in charge",
    "Updated the shared notes",
)


_SUBJECT = re.compile(
    r"^(?:The |Our |Lesson: )?(.+?) (?:is|are|was|were|has|had|answers|listens|runs|park|passed|joined|"
    r"renewed|lifts|uses|moved|opened|arrives|starts)\b"
)


def subject_of(sentence: str) -> str:
    """A heading for a loose sentence: what it is about (``The guest wifi password is …``)."""
    found = _SUBJECT.match(sentence)
    subject = found.group(1).rstrip(", ") if found and len(found.group(1)) <= 40 else "Notes"
    return subject[0].upper() + subject[1:]


def _knowledge(title: str, created: date, updated: date, sections: Sequence[tuple[str, str]]) -> str:
    lines = [
        "---",
        f"created: {created.isoformat()}T09:00:00+09:00",
        f"updated: {updated.isoformat()}T17:30:00+09:00",
    ]
    lines += ["---", "", f"# {title}", ""]
    for heading, text in sections:
        lines += [f"## {heading}", f"- {text}", ""]
    return "\n".join(lines)


def _entry(minute: int, title: str, trigger: str, decision: str, result: str) -> str:
    return (
        f"\n## {minute // 60:02d}:{minute % 60:02d} {title}\n"
        f"- Trigger: {trigger}\n- Decision: {decision}\n- Result: {result}\n- Lesson: None\n"
    )


def build_memory(
    facts: Sequence[Fact], *, today: date, distractor_count: int = 420, seed: int = 8
) -> dict[str, str]:
    """Every memory file of the anima, path to text: each fact once, among the distractors.

    Knowledge facts go to ``knowledge/<topic>.md`` with a few distractors of the same topic; the
    rest of the distractors and every confuser go to ``knowledge/<topic>-notes-<n>.md`` or into
    episode entries (one in three). Episode facts are entries of random days.
    """
    rng = random.Random(seed)
    noise: list[Distractor] = distractors(facts, distractor_count, seed)
    for fact in facts:
        topic = "people" if fact.is_episode else fact.topic
        noise += [Distractor(topic, subject_of(confuser), confuser) for confuser in fact.confusers]
    rng.shuffle(noise)
    knowledge: dict[str, list[tuple[str, str]]] = {}
    episodes: dict[int, list[tuple[str, str, str, str]]] = {}
    for fact in facts:
        if fact.is_episode:
            episodes.setdefault(rng.randrange(DAYS), []).append(
                (fact.heading, "Message received", fact.decision, fact.text)
            )
        else:
            knowledge.setdefault(fact.topic, []).append((fact.heading, fact.text))
    notes: dict[str, list[tuple[str, str]]] = {}
    for i, item in enumerate(noise):
        if i % 3 == 0:
            entry = (item.heading, rng.choice(TRIGGERS), rng.choice(DECISIONS), item.text)
            episodes.setdefault(rng.randrange(DAYS), []).append(entry)
        elif (
            item.topic in knowledge
            and len(knowledge[item.topic]) < 2 * NOTES_PER_FILE // 3
            and rng.random() < 0.3
        ):
            knowledge[item.topic].append((item.heading, item.text))
        else:
            notes.setdefault(item.topic, []).append((item.heading, item.text))
    files: dict[str, str] = {}
    for topic, sections in knowledge.items():
        rng.shuffle(sections)
        created = today - timedelta(days=rng.randrange(60, 120))
        updated = today - timedelta(days=rng.randrange(0, 60))
        files[f"knowledge/{topic}.md"] = _knowledge(topic.capitalize(), created, updated, sections)
    for topic, sections in notes.items():
        for n, begin in enumerate(range(0, len(sections), NOTES_PER_FILE), start=1):
            created = today - timedelta(days=rng.randrange(0, 120))
            title = f"{topic.capitalize()} notes {n}"
            files[f"knowledge/{topic}-notes-{n}.md"] = _knowledge(
                title, created, created, sections[begin : begin + NOTES_PER_FILE]
            )
    for back, entries in sorted(episodes.items()):
        day = today - timedelta(days=back + 1)
        rng.shuffle(entries)
        minutes = sorted(rng.sample(range(8 * 60, 19 * 60), len(entries)))
        text = f"# {day.isoformat()} Action Log\n" + "".join(
            _entry(minute, *entry) for minute, entry in zip(minutes, entries, strict=True)
        )
        files[f"episodes/{day.isoformat()}.md"] = text
    return dict(sorted(files.items()))
