"""Every ranked row of the recall table: the sides alone, the fusions, the default ranking, ablations.

Each question is searched once per side (BM25 with all query words, BM25 as the index queries it,
dense) and once through the index's own hybrid search; every row is then a pure function of those
lists, so a row differs from another only by what its name says.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from animas_priming.adapters.sqlite_index import SqliteMemoryIndex
from animas_priming.chunking import chunk_file, heading_matcher, search_terms
from animas_priming.domain.fusion import KEYWORD_SHARE, fuse, reciprocal_rank
from animas_priming.domain.graph import MemoryGraph, build_graph, spread
from animas_priming.domain.query_terms import content_terms
from animas_priming.domain.ranking import COMPONENTS, DEFAULT_WEIGHTS, RankWeights, rank
from animas_priming.ports import Chunk, Embedder, Hit

from .locomo import CATEGORIES, KS, Conversation, RecallResult, Tally, digest, episode_files, epoch

CANDIDATES = 50
"""Hybrid hits handed to ``rank``: twice the deepest k, as the search endpoint asks for ``2 × limit``."""
SIDE_DEPTH = 100
"""Depth of the BM25-only and dense-only lists that the fusion rows start from."""
GRAPH_SEEDS = 10
"""Search hits whose files seed the spreading activation."""

DEFAULT_ROW = "default ranking"
BASELINES = ("BM25 alone, all query words", "BM25 alone", "hybrid RRF, all query words", "hybrid RRF")
"""The rows the default ranking has to beat (the old search order among them)."""

ROW_NOTES = {
    "BM25 alone, all query words": (
        "the index's FTS5 side with every query word (the keyword side before); like every BM25 row, over"
        " the entry's words and its context column (the entry before it)"
    ),
    "BM25 alone": "the index's FTS5 side as it queries now: English function words left out",
    "dense alone": "the index's vector side only (`search` with an empty query)",
    "hybrid RRF, all query words": "BM25 (all words) and dense fused by RRF (k=60): the search order before",
    "hybrid RRF": "BM25 (function words out) and dense fused by RRF (k=60)",
    "hybrid search order": "`SqliteMemoryIndex.search` as shipped: `fusion.fuse`, no `rank`",
    DEFAULT_ROW: (
        "the search order (top 50) → `rank` with default weights and graph activation, now = the last"
        " session: the order the search endpoint returns (priming also drops hits under its similarity floor)"
    ),
}

_SHARES = (0.4, 0.5, 0.7)
VARIANT_NOTES = {
    **{
        f"variant: mix, keyword share {share:g}": (
            f"`fuse` with keyword share {share:g} instead of {KEYWORD_SHARE:g}"
        )
        for share in _SHARES
    },
    "variant: mix, BM25 of all query words": "`fuse` as shipped, but the keyword side queries every word",
    "variant: recency prior ×4": "`rank` with 4 × the default recency weight",
    "variant: recency as a multiplier": (
        "`rank` with recency multiplying relevance (0.7 + 0.3 × decay, half-life 30 days): the ranking before"
    ),
    "variant: graph into episodes too": "`rank` with graph activation applied to episode files as well",
    "variant: heading weight 0.2": "`rank` with half the default heading weight",
    "variant: entries indexed alone": (
        "the default ranking over an index of the same files without the keyword context column (every"
        " entry's words only, schema 3)"
    ),
    "variant: the default before": (
        "entries indexed alone and `rank` without the heading signal: the default ranking before both"
    ),
    "variant: the ranking before": (
        "hybrid RRF of all query words → `rank` as it was: recency as a multiplier, no context, graph"
        " weight 0.15 into every file"
    ),
}
BEFORE = RankWeights(
    recency=0.3,
    recency_multiplies=True,
    use_context=False,
    use_heading=False,
    graph=0.15,
    graph_types=("knowledge", "episodes"),
)
"""The ranking's weights before this change (for the row that shows where it started)."""


def without_stop_words(query: str) -> str:
    """The query as the index's keyword side reads it (function words out), as one string."""
    return " ".join(content_terms(search_terms(query)))


def _question_rows() -> list[str]:
    return [
        *ROW_NOTES,
        *(f"default without {component}" for component in COMPONENTS),
        *VARIANT_NOTES,
    ]


def empty_result() -> RecallResult:
    """A result with every row and category and no questions yet."""
    notes = {
        **ROW_NOTES,
        **{
            f"default without {c}": f"`RankWeights().without({c!r})`, otherwise as the default"
            for c in COMPONENTS
        },
        **VARIANT_NOTES,
    }
    return RecallResult(
        rows={name: {c: Tally() for c in CATEGORIES} for name in _question_rows()}, notes=notes
    )


def bench_recall(
    conversations: Sequence[Conversation],
    embedder: Embedder,
    workdir: Path,
    *,
    threshold: float,
    hops: int,
    half_life_days: float,
    spreading_types: Sequence[str],
) -> RecallResult:
    """Index every conversation as an anima and score each retriever on its questions."""
    started = time.perf_counter()
    result = empty_result()
    index = SqliteMemoryIndex(workdir / "recall-index", embedder.dimensions, embedder.model_name)
    # The same files read with every query word kept: the keyword side as it was.
    index_all_words = SqliteMemoryIndex(
        workdir / "recall-index", embedder.dimensions, embedder.model_name, keyword_terms=list
    )
    # The same files with every entry indexed alone (no context column words): the index before.
    index_alone = SqliteMemoryIndex(workdir / "recall-index-alone", embedder.dimensions, embedder.model_name)
    try:
        for conversation in conversations:
            anima = f"conv{conversation.number}"
            chunks_all, vectors, dia_of = _index_conversation(
                index, embedder, anima, conversation, alone=index_alone
            )
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
            now = epoch(conversation.last)
            for question in conversation.questions:
                result.questions[question.category] = result.questions.get(question.category, 0) + 1
                sides = _Sides.find(index, index_all_words, index_alone, embedder, anima, question.text)
                found = _rows(sides, graph, now, question.text, hops=hops, half_life=half_life_days)
                for name, hits in found.items():
                    ids = [dia_of[hit.chunk.chunk_id] for hit in hits[: max(KS)]]
                    result.rows[name][question.category].add(ids, question.evidence)
            print(
                f"  recall: {anima} {len(chunks_all)} turns, {len(conversation.questions)} questions"
                f" ({time.perf_counter() - started:.0f}s)",
                flush=True,
            )
    finally:
        index.close()
        index_all_words.close()
        index_alone.close()
    result.seconds = time.perf_counter() - started
    return result


def _index_conversation(
    index: SqliteMemoryIndex,
    embedder: Embedder,
    anima: str,
    conversation: Conversation,
    *,
    alone: SqliteMemoryIndex,
) -> tuple[list[Chunk], list[list[float]], dict[str, str]]:
    """Store a conversation's episode files; its chunks, their vectors and chunk id → turn id.

    ``alone`` gets the same chunks and vectors without their keyword context.
    """
    dia_of: dict[str, str] = {}
    pieces: list[tuple[str, str, list[Chunk]]] = []
    for path, (text, dia_ids) in episode_files(conversation.turns).items():
        chunks = chunk_file(anima, path, text)
        if len(chunks) != len(dia_ids):
            raise RuntimeError(f"{anima}/{path}: {len(chunks)} chunks for {len(dia_ids)} turns")
        dia_of.update((chunk.chunk_id, dia) for chunk, dia in zip(chunks, dia_ids, strict=True))
        pieces.append((path, text, chunks))
    chunks_all = [chunk for _, _, chunks in pieces for chunk in chunks]
    vectors = embedder.embed_passages([chunk.text for chunk in chunks_all])
    position = 0
    for path, text, chunks in pieces:
        part = vectors[position : position + len(chunks)]
        index.upsert_file(anima, path, digest(text), chunks, part)
        alone.upsert_file(
            anima, path, digest(text), [dataclasses.replace(c, context="") for c in chunks], part
        )
        position += len(chunks)
    return chunks_all, vectors, dia_of


@dataclasses.dataclass(frozen=True)
class _Sides:
    """One question's candidate lists, each best first."""

    bm25_all_words: list[Hit]
    bm25: list[Hit]
    dense: list[Hit]
    search: list[Hit]
    """The index's own hybrid search (``fuse``), top :data:`CANDIDATES`."""
    search_alone: list[Hit]
    """The same search over entries indexed alone (no keyword context)."""

    @classmethod
    def find(
        cls,
        index: SqliteMemoryIndex,
        all_words: SqliteMemoryIndex,
        alone: SqliteMemoryIndex,
        embedder: Embedder,
        anima: str,
        query: str,
    ) -> _Sides:
        vector = embedder.embed_query(query)
        return cls(
            bm25_all_words=all_words.search(anima, query, [], limit=SIDE_DEPTH),
            bm25=index.search(anima, query, [], limit=SIDE_DEPTH),
            dense=index.search(anima, "", vector, limit=SIDE_DEPTH),
            search=index.search(anima, query, vector, limit=CANDIDATES),
            search_alone=alone.search(anima, query, vector, limit=CANDIDATES),
        )


def _fused(
    keyword: Sequence[Hit],
    dense: Sequence[Hit],
    how: Callable[[Mapping[str, float], Mapping[str, float]], list[tuple[str, float]]],
) -> list[Hit]:
    """Two side lists fused by ``how``; each hit keeps both raw side scores where known."""
    hits: dict[str, Hit] = {}
    for hit in [*keyword, *dense]:
        seen = hits.get(hit.chunk.chunk_id)
        hits[hit.chunk.chunk_id] = (
            hit
            if seen is None
            else dataclasses.replace(seen, keyword=seen.keyword or hit.keyword, dense=seen.dense or hit.dense)
        )
    order = how(
        {hit.chunk.chunk_id: hit.keyword or 0.0 for hit in keyword},
        {hit.chunk.chunk_id: hit.dense or 0.0 for hit in dense},
    )
    return [dataclasses.replace(hits[chunk_id], score=score) for chunk_id, score in order]


def _rows(
    sides: _Sides, graph: MemoryGraph, now: float, query: str, *, hops: int, half_life: float
) -> dict[str, list[Hit]]:
    """Hits, best first, of every row for one question."""
    spread_from: dict[tuple[tuple[str, float], ...], dict[str, float]] = {}
    names = heading_matcher(query)

    def ranked(hits: Sequence[Hit], weights: RankWeights = DEFAULT_WEIGHTS) -> list[Hit]:
        # Activation spreads from the files of the hits being ranked, as the search would seed it.
        seeds = tuple((hit.chunk.path, hit.score) for hit in hits[:GRAPH_SEEDS])
        if seeds not in spread_from:
            spread_from[seeds] = spread(seeds, graph, hops=hops)
        activation = spread_from[seeds]
        scored = rank(
            hits,
            now=now,
            half_life_days=half_life,
            weights=weights,
            activation=activation,
            heading_match=names,
        )
        return [hit for hit, _ in scored]

    def rrf(keyword: Mapping[str, float], dense: Mapping[str, float]) -> list[tuple[str, float]]:
        return reciprocal_rank(keyword, dense, limit=CANDIDATES)

    found = {
        "BM25 alone, all query words": sides.bm25_all_words,
        "BM25 alone": sides.bm25,
        "dense alone": sides.dense,
        "hybrid RRF, all query words": _fused(sides.bm25_all_words, sides.dense, rrf),
        "hybrid RRF": _fused(sides.bm25, sides.dense, rrf),
        "hybrid search order": sides.search,
        DEFAULT_ROW: ranked(sides.search),
    }
    for component in COMPONENTS:
        found[f"default without {component}"] = ranked(sides.search, DEFAULT_WEIGHTS.without(component))
    for share in _SHARES:

        def mix(
            keyword: Mapping[str, float], dense: Mapping[str, float], share: float = share
        ) -> list[tuple[str, float]]:
            return fuse(keyword, dense, limit=CANDIDATES, keyword_share=share)

        found[f"variant: mix, keyword share {share:g}"] = _fused(sides.bm25, sides.dense, mix)

    def shipped_mix(keyword: Mapping[str, float], dense: Mapping[str, float]) -> list[tuple[str, float]]:
        return fuse(keyword, dense, limit=CANDIDATES)

    found["variant: mix, BM25 of all query words"] = _fused(sides.bm25_all_words, sides.dense, shipped_mix)
    found["variant: recency prior ×4"] = ranked(
        sides.search, dataclasses.replace(DEFAULT_WEIGHTS, recency=4 * DEFAULT_WEIGHTS.recency)
    )
    found["variant: recency as a multiplier"] = ranked(
        sides.search, dataclasses.replace(DEFAULT_WEIGHTS, recency=BEFORE.recency, recency_multiplies=True)
    )
    found["variant: graph into episodes too"] = ranked(
        sides.search,
        dataclasses.replace(DEFAULT_WEIGHTS, graph_types=(*DEFAULT_WEIGHTS.graph_types, "episodes")),
    )
    found["variant: heading weight 0.2"] = ranked(
        sides.search, dataclasses.replace(DEFAULT_WEIGHTS, heading=DEFAULT_WEIGHTS.heading / 2)
    )
    found["variant: entries indexed alone"] = ranked(sides.search_alone)
    found["variant: the default before"] = ranked(sides.search_alone, DEFAULT_WEIGHTS.without("heading"))
    found["variant: the ranking before"] = ranked(found["hybrid RRF, all query words"], BEFORE)
    return found
