"""The Japanese set: BM25 per tokenizer, dense per embedder, and their hybrids.

Each memory is one file of the set, cut by the product's chunker into exactly one chunk and
indexed in the product's ``SqliteMemoryIndex``, whose own search gives the "product index" rows
(BM25 alone, dense alone, hybrid, as shipped). The tokenizer variants are separate FTS5 tables
over the same text (see :mod:`.keyword`), fused with the product index's dense side by the
product's ``fuse``, so only the tokenizer differs from the shipped hybrid.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from animas_priming.adapters.sqlite_index import SqliteMemoryIndex
from animas_priming.chunking import chunk_file
from animas_priming.domain.fusion import fuse
from animas_priming.ports import Embedder

from .keyword import KeywordIndex, Tokenizer
from .scoring import Scores

ANIMA = "tomoko"
DEPTH = 50
"""Candidates taken from each side before fusing (as the index asks for)."""
PRODUCT = "product index"


@dataclasses.dataclass(frozen=True)
class JapaneseSet:
    """Memories (id → (path, text)) and questions (text, ids that answer it)."""

    memories: dict[str, tuple[str, str]]
    queries: list[tuple[str, frozenset[str]]]


def load_set(path: Path) -> JapaneseSet:
    """Read ``set.json``."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    memories = {m["id"]: (m["path"], m["text"]) for m in raw["memories"]}
    queries = [(q["q"], frozenset(q["relevant"])) for q in raw["queries"]]
    return JapaneseSet(memories, queries)


@dataclasses.dataclass
class JapaneseResult:
    """Scores by row: BM25 per tokenizer, dense per embedder, hybrid per (embedder, tokenizer)."""

    bm25: dict[str, Scores] = dataclasses.field(default_factory=dict)
    dense: dict[str, Scores] = dataclasses.field(default_factory=dict)
    hybrid: dict[tuple[str, str], Scores] = dataclasses.field(default_factory=dict)
    memories: int = 0
    questions: int = 0


def keyword_rows(
    data: JapaneseSet, tokenizers: list[Tokenizer], result: JapaneseResult
) -> dict[str, list[dict[str, float]]]:
    """BM25 alone per tokenizer; returns each tokenizer's per-question keyword lists for fusing."""
    texts = {memory_id: text for memory_id, (_, text) in data.memories.items()}
    lists: dict[str, list[dict[str, float]]] = {}
    for tokenizer in tokenizers:
        index = KeywordIndex(tokenizer, texts)
        lists[tokenizer.name] = [index.search(query, DEPTH) for query, _ in data.queries]
        scores = result.bm25[tokenizer.name] = Scores()
        for found, (_, relevant) in zip(lists[tokenizer.name], data.queries, strict=True):
            scores.add(list(found), relevant)
    return lists


def embedder_rows(
    name: str,
    embedder: Embedder,
    data: JapaneseSet,
    keyword_lists: dict[str, list[dict[str, float]]],
    index_dir: Path,
    result: JapaneseResult,
) -> None:
    """Dense alone and every hybrid for one embedder, plus the product index's own rows."""
    index = SqliteMemoryIndex(index_dir, embedder.dimensions, embedder.model_name)
    by_chunk: dict[str, str] = {}
    try:
        for memory_id, (path, text) in data.memories.items():
            chunks = chunk_file(ANIMA, path, text)
            if len(chunks) != 1:
                raise ValueError(f"memory {memory_id} became {len(chunks)} chunks, not one")
            index.upsert_file(ANIMA, path, memory_id, chunks, embedder.embed_passages([chunks[0].text]))
            by_chunk[chunks[0].chunk_id] = memory_id
        product_bm25, product_hybrid, dense = Scores(), Scores(), Scores()
        for number, (query, relevant) in enumerate(data.queries):
            vector = embedder.embed_query(query)
            # An empty query leaves the index's keyword side out: its dense side alone, cosine kept.
            dense_side = {
                by_chunk[hit.chunk.chunk_id]: hit.dense or 0.0
                for hit in index.search(ANIMA, "", vector, limit=DEPTH)
            }
            dense.add(list(dense_side), relevant)
            hybrid = index.search(ANIMA, query, vector, limit=10)
            product_hybrid.add([by_chunk[hit.chunk.chunk_id] for hit in hybrid], relevant)
            keyword = index.search(ANIMA, query, [], limit=10)
            product_bm25.add([by_chunk[hit.chunk.chunk_id] for hit in keyword], relevant)
            for tokenizer, lists in keyword_lists.items():
                fused = [memory_id for memory_id, _ in fuse(lists[number], dense_side, limit=10)]
                result.hybrid.setdefault((name, tokenizer), Scores()).add(fused, relevant)
        result.dense[name] = dense
        result.bm25[PRODUCT] = product_bm25  # the same for every embedder: no vector involved
        result.hybrid[(name, PRODUCT)] = product_hybrid
    finally:
        index.close()
    result.memories, result.questions = len(data.memories), len(data.queries)
