"""LoCoMo recall per embedder on the held-back conversations (5–9): dense alone and hybrid.

Each conversation is indexed as the recall benchmark indexes it (one episode file per day, one
chunk per turn) in the product's ``SqliteMemoryIndex``; each question is searched through that
index's own ``search`` with an empty query (dense alone), without a vector (BM25 alone) and with
both (hybrid, the shipped fusion). Only the embedder changes between rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from recall.locomo import Conversation, digest, episode_files

from animas_priming.adapters.sqlite_index import SqliteMemoryIndex
from animas_priming.chunking import chunk_file
from animas_priming.ports import Embedder

from .scoring import Scores

HELD_BACK = frozenset(range(5, 10))
"""The conversations the recall benchmark reports on and never tunes on."""


def locomo_rows(
    embedder: Embedder, conversations: Sequence[Conversation], index_dir: Path
) -> dict[str, Scores]:
    """``BM25``, ``dense`` and ``hybrid`` scores over the held-back conversations' questions."""
    rows = {mode: Scores() for mode in ("BM25", "dense", "hybrid")}
    index = SqliteMemoryIndex(index_dir, embedder.dimensions, embedder.model_name)
    try:
        for conversation in conversations:
            if conversation.number not in HELD_BACK:
                continue
            anima = f"conv{conversation.number}"
            by_chunk: dict[str, str] = {}
            for path, (text, dia_ids) in episode_files(conversation.turns).items():
                chunks = chunk_file(anima, path, text)
                if len(chunks) != len(dia_ids):
                    raise ValueError(f"{path}: {len(chunks)} chunks for {len(dia_ids)} turns")
                vectors = embedder.embed_passages([chunk.text for chunk in chunks])
                index.upsert_file(anima, path, digest(text), chunks, vectors)
                by_chunk.update(
                    (chunk.chunk_id, dia_id) for chunk, dia_id in zip(chunks, dia_ids, strict=True)
                )
            for question in conversation.questions:
                vector = embedder.embed_query(question.text)
                for mode, (text, query_vector) in {
                    "BM25": (question.text, []),
                    "dense": ("", vector),
                    "hybrid": (question.text, vector),
                }.items():
                    hits = index.search(anima, text, query_vector, limit=10)
                    rows[mode].add([by_chunk[hit.chunk.chunk_id] for hit in hits], question.evidence)
    finally:
        index.close()
    return rows
