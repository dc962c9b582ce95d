"""The world around one prime, in process: memory-writer's reads, an event sink, a search counter."""

from __future__ import annotations

from collections.abc import Sequence

from recall.locomo import digest

from animas_contracts import AnimaSummary, Event, MetaRecord
from animas_core.memory_client import MemoryClient
from animas_priming.adapters.sqlite_index import SqliteMemoryIndex
from animas_priming.ports import Chunk, Hit, SearchScope


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

    def search_scopes(
        self, anima: str, query: str, vector: Sequence[float], scopes: Sequence[SearchScope]
    ) -> list[list[Hit]]:
        self.searches += 1
        return self.inner.search_scopes(anima, query, vector, scopes)

    def chunks(self, anima: str, chunk_ids: Sequence[str]) -> list[Chunk]:
        return self.inner.chunks(anima, chunk_ids)

    def close(self) -> None:
        self.inner.close()
