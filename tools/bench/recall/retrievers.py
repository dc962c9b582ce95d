"""Every ranked row of the recall table: BM25, dense, hybrid, full ranking, ablations, variants."""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from animas_priming.adapters.embedder import SentenceTransformerEmbedder
from animas_priming.adapters.sqlite_index import SqliteMemoryIndex
from animas_priming.chunking import chunk_file
from animas_priming.domain.graph import MemoryGraph, build_graph, spread
from animas_priming.domain.ranking import COMPONENTS, RankWeights, rank
from animas_priming.ports import Chunk, Hit

from .locomo import CATEGORIES, KS, Conversation, RecallResult, Tally, digest, episode_files, epoch

CANDIDATES = 50
"""Hybrid hits handed to ``rank``: twice the deepest k, as the search endpoint asks for ``2 × limit``."""
SIDE_DEPTH = 100
"""Depth of the BM25-only and dense-only lists that the fusion variants start from."""
GRAPH_SEEDS = 10
"""Search hits whose files seed the spreading activation."""


ROW_NOTES = {
    "BM25 alone": "the index's FTS5 side only (`search` with no vector)",
    "dense alone": "the index's vector side only (`search` with an empty query)",
    "hybrid RRF (search order)": "`SqliteMemoryIndex.search`: BM25 and dense fused by RRF (k=60), no `rank`",
    "full ranking": (
        "hybrid search (top 50) → `rank` with default weights and graph activation, now = the last session;"
        " the order the search endpoint returns (priming also drops hits under its similarity floor)"
    ),
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


_NLTK_ENGLISH = """
    i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her hers
    herself it its itself they them their theirs themselves what which who whom this that these those am is
    are was were be been being have has had having do does did doing a an the and but if or because as until
    while of at by for with about against between into through during before after above below to from up
    down in out on off over under again further then once here there when where why how all any both each
    few more most other some such no nor not only own same so than too very s t can will just don should now
    d ll m o re ve y ain aren couldn didn doesn hadn hasn haven isn ma mightn mustn needn shan shouldn wasn
    weren won wouldn
"""
STOP_WORDS = frozenset(_NLTK_ENGLISH.split())
"""NLTK's English stop words (contractions as their word pieces): a standard list, not fitted here."""


def without_stop_words(query: str) -> str:
    """The query with English stop words left out (the query itself when nothing else is left)."""
    kept = [word for word in re.findall(r"[^\W_]+", query) if word.casefold() not in STOP_WORDS]
    return " ".join(kept) or query


def rrf_order(bm25: Sequence[Hit], dense: Sequence[Hit], weight_keyword: float, k: int = 60) -> list[Hit]:
    """Both side lists fused by reciprocal rank, the keyword side's ranks weighted, best first."""
    scores: dict[str, float] = {}
    hits: dict[str, Hit] = {}
    for weight, side in ((weight_keyword, bm25), (1.0, dense)):
        for position, hit in enumerate(side, start=1):
            chunk_id = hit.chunk.chunk_id
            scores[chunk_id] = scores.get(chunk_id, 0.0) + weight / (k + position)
            hits.setdefault(chunk_id, hit)
    return [
        dataclasses.replace(hits[chunk_id], score=scores[chunk_id])
        for chunk_id in sorted(scores, key=lambda chunk_id: -scores[chunk_id])
    ]


def mixed_order(bm25: Sequence[Hit], dense: Sequence[Hit], share_keyword: float = 0.5) -> list[Hit]:
    """Both side lists fused by a convex mix of their min-max normalised scores, best first.

    The mix becomes each hit's ``score``, and each hit carries both raw side scores where known,
    so ``rank`` can take the list as it takes a hybrid search's.
    """
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
    return sorted(rescored, key=lambda hit: -hit.score)


VARIANT_NOTES = {
    "variant: RRF, keyword ranks ×2": "RRF (k=60) of BM25 top-100 and dense top-100, BM25 weighted 2 : 1",
    "variant: scores mixed 50/50": "each side's scores min-max normalised over its top-100, then averaged",
    "variant: BM25, stop words dropped": "BM25 alone, English stop words (NLTK's list) left out of the query",
    "variant: stop words dropped + scores mixed 50/50": "the two above together",
    "variant: stop words dropped + scores mixed 50/50 → rank": (
        "the row above as candidates (top 50) for `rank` with default weights and its own graph activation"
    ),
}


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
                    anima, path, digest(text), chunks, vectors[position : position + len(chunks)]
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
            now = epoch(conversation.last)
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

    def ranked(hits: Sequence[Hit], weights: RankWeights, spreading: Mapping[str, float]) -> list[str]:
        scored = rank(hits, now=now, half_life_days=half_life, weights=weights, activation=spreading)
        return _ranked_ids(scored, dia_of)[:deepest]

    found = {
        "BM25 alone": _ids(bm25, dia_of)[:deepest],
        "dense alone": _ids(dense, dia_of)[:deepest],
        "hybrid RRF (search order)": _ids(hybrid, dia_of)[:deepest],
        "full ranking": ranked(hybrid, RankWeights(), activation),
    }
    for component in COMPONENTS:
        found[f"full without {component}"] = ranked(hybrid, RankWeights().without(component), activation)
    # Exploratory rows: what the same index could give with another query or fusion.
    bm25_lean = index.search(anima, without_stop_words(query), [], limit=SIDE_DEPTH)
    lean_mix = mixed_order(bm25_lean, dense)[:CANDIDATES]
    lean_activation = spread(
        [(hit.chunk.path, hit.score) for hit in lean_mix[:GRAPH_SEEDS]], graph, hops=hops
    )
    found["variant: RRF, keyword ranks ×2"] = _ids(rrf_order(bm25, dense, 2.0), dia_of)[:deepest]
    found["variant: scores mixed 50/50"] = _ids(mixed_order(bm25, dense), dia_of)[:deepest]
    found["variant: BM25, stop words dropped"] = _ids(bm25_lean, dia_of)[:deepest]
    found["variant: stop words dropped + scores mixed 50/50"] = _ids(lean_mix, dia_of)[:deepest]
    found["variant: stop words dropped + scores mixed 50/50 → rank"] = ranked(
        lean_mix, RankWeights(), lean_activation
    )
    return found
