"""Indexing does only new work: a batch reads each touched file once, and embeds only new chunk text."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, cast

import pytest

from animas_contracts import AnimaSummary, MemoryOpApplied, encode_event
from animas_core.memory_client import MemoryClient
from animas_priming.adapters.embedder import SentenceTransformerEmbedder
from animas_priming.adapters.sqlite_index import SqliteMemoryIndex
from animas_priming.embed_batcher import EmbeddingBatcher
from animas_priming.indexer import Indexer, coalesce, file_digest

EPISODE = "episodes/2026-12-07.md"
KNOWLEDGE = "knowledge/printer.md"


def entry(n: int) -> str:
    return f"## 10:{n:02d} Chat with Tanaka\n\nTanaka said their locker number is {n * 7}.\n\n"


class CountingEmbedder:
    """The real embedder, counting what it is asked to embed."""

    def __init__(self, inner: SentenceTransformerEmbedder) -> None:
        self._inner = inner
        self.calls: list[list[str]] = []

    @property
    def dimensions(self) -> int:
        return self._inner.dimensions

    @property
    def model_name(self) -> str:
        return self._inner.model_name

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls.append(list(texts))
        return self._inner.embed_passages(texts)

    def embed_query(self, text: str) -> list[float]:
        return self._inner.embed_query(text)


class AnimaFiles:
    """Every anima's files as memory-writer serves them, counting the reads."""

    def __init__(self) -> None:
        self.files: dict[tuple[str, str], str] = {}
        self.reads: list[tuple[str, str]] = []

    async def read(self, anima: str, path: str) -> str | None:
        self.reads.append((anima, path))
        return self.files.get((anima, path))

    async def tree(self, anima: str) -> dict[str, str]:
        return {path: file_digest(text) for (owner, path), text in self.files.items() if owner == anima}

    async def animas(self) -> list[AnimaSummary]:
        return [AnimaSummary(name=name, enabled=True) for name in sorted({owner for owner, _ in self.files})]


@dataclasses.dataclass
class Applied:
    """A delivered ``memory.op.applied`` as the indexer sees it."""

    event: MemoryOpApplied
    acked: bool = False

    @property
    def subject(self) -> str:
        return f"activity.3.{self.event.anima}.memory.op.applied"

    @property
    def data(self) -> bytes:
        return encode_event(self.event)


def applied(anima: str, *paths: str) -> Applied:
    env: dict[str, Any] = {"anima": anima, "correlation_id": "c", "producer": "memory-writer"}
    return Applied(MemoryOpApplied(op_id="op", kind="episode.append", paths=list(paths), **env))


@pytest.fixture(scope="module")
def real_embedder() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder()


@pytest.fixture
def embedder(real_embedder: SentenceTransformerEmbedder) -> CountingEmbedder:
    return CountingEmbedder(real_embedder)


@pytest.fixture
def index(tmp_path: Path, real_embedder: SentenceTransformerEmbedder) -> Iterator[SqliteMemoryIndex]:
    opened = SqliteMemoryIndex(tmp_path / "index", real_embedder.dimensions, real_embedder.model_name)
    yield opened
    opened.close()


def found(index: SqliteMemoryIndex, embedder: CountingEmbedder, anima: str, query: str) -> list[str]:
    return [h.chunk.text for h in index.search(anima, query, embedder.embed_query(query), limit=3)]


def test_coalescing_keeps_each_indexed_path_once_per_anima() -> None:
    events = [
        applied("tanaka", EPISODE).event,
        applied("tanaka", EPISODE, "state/current.md").event,
        applied("suzuki", KNOWLEDGE).event,
        applied("tanaka", KNOWLEDGE, EPISODE).event,
        applied("kato", "state/current.md").event,
    ]
    assert coalesce(events) == {"tanaka": [EPISODE, KNOWLEDGE], "suzuki": [KNOWLEDGE]}


async def test_a_grown_file_embeds_only_its_new_section(
    index: SqliteMemoryIndex, embedder: CountingEmbedder
) -> None:
    files = AnimaFiles()
    indexer = Indexer(index, embedder, cast(MemoryClient, files))
    files.files[("tanaka", EPISODE)] = entry(1) + entry(2) + entry(3)
    assert await indexer.index_paths("tanaka", [EPISODE]) == 3
    assert [len(texts) for texts in embedder.calls] == [3]

    files.files[("tanaka", EPISODE)] += entry(4)
    assert await indexer.index_paths("tanaka", [EPISODE]) == 4
    [new] = embedder.calls[1]
    assert "10:04" in new and "locker number is 28." in new
    # The reused vectors are the ones the index had: the first entry is still found by meaning.
    assert "locker number is 7." in found(index, embedder, "tanaka", "locker number is 7")[0]
    assert "locker number is 28." in found(index, embedder, "tanaka", "locker number 28")[0]

    await indexer.index_paths("tanaka", [EPISODE])  # nothing changed: nothing embedded
    assert len(embedder.calls) == 2


async def test_a_batch_reads_each_touched_file_once_and_embeds_in_one_call(
    index: SqliteMemoryIndex, embedder: CountingEmbedder
) -> None:
    files = AnimaFiles()
    indexer = Indexer(index, embedder, cast(MemoryClient, files))
    files.files[("tanaka", EPISODE)] = entry(1) + entry(2)
    files.files[("suzuki", KNOWLEDGE)] = "# Printer\n\nThe printer on floor 3 jams on A3 paper.\n"
    batch = [applied("tanaka", EPISODE) for _ in range(5)] + [applied("suzuki", KNOWLEDGE, "state/x.md")]

    await indexer.on_applied_batch(batch)

    assert sorted(files.reads) == [("suzuki", KNOWLEDGE), ("tanaka", EPISODE)]
    assert [len(texts) for texts in embedder.calls] == [3]  # both animas' chunks, one call
    assert index.count("tanaka") == 2 and index.count("suzuki") == 1
    assert "jams on A3" in found(index, embedder, "suzuki", "printer jams")[0]
    assert not any("printer" in text for text in found(index, embedder, "tanaka", "printer jams"))


async def test_partitions_embedding_at_once_share_one_model_call(embedder: CountingEmbedder) -> None:
    batcher = EmbeddingBatcher(embedder)
    requests = [["printer jams"], ["locker 7", "locker 14"], ["team lunch on Friday"]]
    vectors = await asyncio.gather(*(batcher.embed_passages(texts) for texts in requests))
    assert embedder.calls == [["printer jams", "locker 7", "locker 14", "team lunch on Friday"]]
    alone = [embedder.embed_passages(texts) for texts in requests]  # each caller got its own
    pairs = [
        (x, y)
        for got, own in zip(vectors, alone, strict=True)
        for v, w in zip(got, own, strict=True)
        for x, y in zip(v, w, strict=True)
    ]
    assert len(pairs) == 4 * embedder.dimensions
    assert max(abs(x - y) for x, y in pairs) < 1e-4


async def test_catching_up_refills_an_index_emptied_by_a_model_change_and_reads_only_stale_files(
    tmp_path: Path, embedder: CountingEmbedder
) -> None:
    files = AnimaFiles()
    files.files[("tanaka", EPISODE)] = entry(1) + entry(2)
    files.files[("tanaka", KNOWLEDGE)] = "# Printer\n\nThe printer on floor 3 jams on A3 paper.\n"
    files.files[("tanaka", "state/current_task.md")] = "# Now\n\nnothing\n"
    before = SqliteMemoryIndex(tmp_path / "index", embedder.dimensions, "an-older-model")
    await Indexer(before, embedder, cast(MemoryClient, files)).index_paths("tanaka", [EPISODE, KNOWLEDGE])
    before.close()

    # Opened for the configured model, the old index is empty; start-up catches up from the files.
    index = SqliteMemoryIndex(tmp_path / "index", embedder.dimensions, embedder.model_name)
    indexer = Indexer(index, embedder, cast(MemoryClient, files))
    assert index.count("tanaka") == 0
    await indexer.catch_up_all()
    assert index.count("tanaka") == 3
    assert set(index.file_digests("tanaka")) == {EPISODE, KNOWLEDGE}
    assert "jams on A3" in found(index, embedder, "tanaka", "printer jams")[0]

    # Caught up, only what changed since is read again; a file memory-writer no longer has leaves.
    files.reads.clear()
    files.files[("tanaka", EPISODE)] += entry(3)
    index.upsert_file("tanaka", "knowledge/gone.md", "sha256:old", [], [])
    assert await indexer.catch_up("tanaka") == 2
    assert sorted(files.reads) == [("tanaka", EPISODE), ("tanaka", "knowledge/gone.md")]
    assert set(index.file_digests("tanaka")) == {EPISODE, KNOWLEDGE}
    assert await indexer.catch_up("tanaka") == 0
    index.close()
