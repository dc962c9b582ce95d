"""LoCoMo: the conversations and questions, their episode files, recall@k / hit@k tallies.

Every turn of a conversation becomes one ``## HH:MM <speaker>`` section of an
``episodes/<session date>.md`` file, so each indexed chunk is one turn and the evidence ids of a
question map one to one onto chunks.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

KS = (5, 10, 25)
DEV = frozenset(range(5))
"""Conversations 0–4: every choice of the ranking is made on these."""
HELD_BACK = frozenset(range(5, 10))
"""Conversations 5–9: the ranking is judged on these, never tuned on them."""
HIT_KS = (5, 10, 25)
DEV = frozenset(range(5))
"""Conversations 0–4: every choice of the ranking is made on these."""
HELD_BACK = frozenset(range(5, 10))
"""Conversations 5–9: the ranking is judged on these, never tuned on them."""
CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop"}
_EVIDENCE = re.compile(r"D:?(\d+):(\d+)")
_SESSION = re.compile(r"^session_(\d+)$")
_HEADING_LIKE = re.compile(r"^( {0,3})(#|```|~~~)", re.MULTILINE)


@dataclasses.dataclass(frozen=True)
class Turn:
    """One turn of a conversation."""

    dia_id: str
    speaker: str
    text: str
    when: datetime
    """The date and time of the turn's session."""


@dataclasses.dataclass(frozen=True)
class Question:
    """A question with the turns that hold its answer."""

    text: str
    category: int
    evidence: frozenset[str]


@dataclasses.dataclass(frozen=True)
class Conversation:
    """A LoCoMo conversation: its turns in order and its scored questions."""

    number: int
    speakers: tuple[str, str]
    turns: tuple[Turn, ...]
    questions: tuple[Question, ...]
    dropped_ids: int
    """Evidence ids that name no turn of the conversation (typos in the data set)."""
    dropped_questions: int
    """Questions of categories 1–4 left without any valid evidence id."""

    @property
    def last(self) -> datetime:
        """When the last session took place: "now" for recency."""
        return max(turn.when for turn in self.turns)


def load_locomo(path: Path) -> list[Conversation]:
    """The conversations of ``locomo10.json`` with their category 1–4 questions."""
    raw: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    conversations: list[Conversation] = []
    for number, item in enumerate(raw):
        conversation: dict[str, Any] = item["conversation"]
        sessions = sorted(
            (int(found.group(1)), key)
            for key in conversation
            if (found := _SESSION.match(key)) and isinstance(conversation[key], list)
        )
        turns: list[Turn] = []
        for _, key in sessions:
            when = datetime.strptime(conversation[f"{key}_date_time"], "%I:%M %p on %d %B, %Y")
            for turn in conversation[key]:
                text = str(turn["text"]).strip()
                caption = str(turn.get("blip_caption") or "").strip()
                if caption:  # the picture a speaker shared is part of what they said
                    text = f"{text} [shared a picture: {caption}]"
                turns.append(Turn(str(turn["dia_id"]), str(turn["speaker"]), text, when))
        known = {turn.dia_id for turn in turns}
        questions: list[Question] = []
        dropped_ids = dropped_questions = 0
        for qa in item["qa"]:
            if qa["category"] not in CATEGORIES:
                continue
            ids = {f"D{a}:{b}" for entry in qa.get("evidence", []) for a, b in _EVIDENCE.findall(entry)}
            unreadable = sum(1 for entry in qa.get("evidence", []) if not _EVIDENCE.search(entry))
            dropped_ids += len(ids - known) + unreadable
            if ids & known:
                questions.append(Question(str(qa["question"]), int(qa["category"]), frozenset(ids & known)))
            else:
                dropped_questions += 1
        speakers = (str(conversation["speaker_a"]), str(conversation["speaker_b"]))
        conversations.append(
            Conversation(number, speakers, tuple(turns), tuple(questions), dropped_ids, dropped_questions)
        )
    return conversations


def section_body(text: str) -> str:
    """Turn text that cannot open a heading or a fence of its own (one turn, one section)."""
    return _HEADING_LIKE.sub(lambda m: f"{m.group(1)}\\{m.group(2)}", text)


def episode_files(turns: Sequence[Turn]) -> dict[str, tuple[str, list[str]]]:
    """Episode files in the seed's format, one per day: path to (text, dia ids of its sections)."""
    by_day: dict[str, list[Turn]] = {}
    for turn in turns:
        by_day.setdefault(turn.when.date().isoformat(), []).append(turn)
    files: dict[str, tuple[str, list[str]]] = {}
    for day, day_turns in by_day.items():
        lines = [f"# {day} Action Log", ""]
        for turn in day_turns:
            lines += [f"## {turn.when:%H:%M} {turn.speaker}", section_body(turn.text), ""]
        files[f"episodes/{day}.md"] = ("\n".join(lines), [turn.dia_id for turn in day_turns])
    return files


def digest(text: str) -> str:
    """The text's digest as the index stores it (``sha256:<hex>``)."""
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def epoch(moment: datetime) -> float:
    """A naive LoCoMo time as seconds since the epoch, read as UTC."""
    return moment.replace(tzinfo=UTC).timestamp()


@dataclasses.dataclass
class Tally:
    """Sums of recall@k and hit@k over questions."""

    questions: int = 0
    recall: dict[int, float] = dataclasses.field(default_factory=lambda: dict.fromkeys(KS, 0.0))
    hit: dict[int, float] = dataclasses.field(default_factory=lambda: dict.fromkeys(HIT_KS, 0.0))

    def add(self, found: Sequence[str], evidence: frozenset[str]) -> None:
        """Score one question's ranked turn ids against its evidence."""
        self.questions += 1
        for k in KS:
            self.recall[k] += len(evidence.intersection(found[:k])) / len(evidence)
        for k in HIT_KS:
            self.hit[k] += 1.0 if evidence.intersection(found[:k]) else 0.0

    def merge(self, other: Tally) -> None:
        """Add another tally's questions to this one."""
        self.questions += other.questions
        for k in KS:
            self.recall[k] += other.recall[k]
        for k in HIT_KS:
            self.hit[k] += other.hit[k]

    def recall_pct(self, k: int) -> float:
        """Mean recall@k in percent."""
        return 100.0 * self.recall[k] / self.questions if self.questions else 0.0

    def hit_pct(self, k: int) -> float:
        """Mean hit@k in percent."""
        return 100.0 * self.hit[k] / self.questions if self.questions else 0.0


@dataclasses.dataclass
class RecallResult:
    """Tallies by row and category, and what it took to get them."""

    rows: dict[str, dict[int, Tally]]
    notes: dict[str, str]
    turns: int = 0
    questions: dict[int, int] = dataclasses.field(default_factory=dict)
    dropped_ids: int = 0
    dropped_questions: int = 0
    graph_edges: int = 0
    graph_nodes: int = 0
    seconds: float = 0.0

    def overall(self, row: str) -> Tally:
        """The row's tally over categories 1–4 (every question counts once)."""
        total = Tally()
        for tally in self.rows[row].values():
            total.merge(tally)
        return total
