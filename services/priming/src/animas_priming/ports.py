"""What priming needs from the outside world, and the value types that cross those seams."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Protocol

MEMORY_TYPES = ("knowledge", "episodes", "procedures", "skills")
"""Folders of an anima directory that are indexed (each chunk records which one it came from)."""


@dataclasses.dataclass(frozen=True)
class Chunk:
    """One indexed piece of a memory file: a Markdown section with its metadata."""

    chunk_id: str
    """``<path>#<ordinal>``: stable for the same file content."""
    anima: str
    path: str
    """Relative to the anima directory, e.g. ``knowledge/contacts.md``."""
    memory_type: str
    """One of :data:`MEMORY_TYPES`."""
    heading: str
    """The section's heading ("" before the first heading)."""
    text: str
    """The section text, heading line included."""
    date: str | None = None
    """ISO date the memory belongs to (an episode's day; a file's ``updated`` frontmatter date)."""
    importance: str = "normal"
    """``important`` when the section holds an ``[IMPORTANT]`` line, else ``normal``."""
    trust: str = "own"
    """``own`` for the anima's memory; ``external`` for content that came from outside platforms."""
    links: tuple[str, ...] = ()
    """Other memory files this section links to (explicit links, relative paths)."""
    context: str = dataclasses.field(default="", compare=False)
    """Text indexed with the chunk for keyword search only, at a lower weight: for an episode
    entry, the entry before it (see :func:`animas_priming.chunking.chunk_file`). Derived from the
    file, so an index may give it back empty; never shown, never embedded."""


@dataclasses.dataclass(frozen=True)
class Hit:
    """A chunk found by a search, with the scores that found it."""

    chunk: Chunk
    score: float
    """The fused relevance of the search (higher is better); ranking refines it later."""
    keyword: float | None = None
    """BM25 relevance (higher is better), None when the keyword side did not find it."""
    dense: float | None = None
    """Cosine similarity in [-1, 1], None when the vector side did not find it."""


@dataclasses.dataclass(frozen=True)
class SearchScope:
    """One part of a search that answers several questions at once (:meth:`MemoryIndex.search_scopes`)."""

    limit: int
    memory_types: tuple[str, ...] | None = None
    """Memory types to search (all of :data:`MEMORY_TYPES` when None)."""
    important_only: bool = False
    keywords: str | None = None
    """The keyword side's text for this part alone (e.g. a sender's name); the search's query when None."""


class Embedder(Protocol):
    """Turns text into vectors. Loaded once per process."""

    @property
    def dimensions(self) -> int:
        """Length of every vector."""
        ...

    @property
    def model_name(self) -> str:
        """The model's name (recorded with the index, so a model change forces a reindex)."""
        ...

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        """Vectors for memory text (batched; model-specific passage prefix applied)."""
        ...

    def embed_query(self, text: str) -> list[float]:
        """The vector of a search query (model-specific query prefix applied)."""
        ...


class MemoryIndex(Protocol):
    """The search index of every anima: a projection of their memory files, rebuildable at will.

    Every method is scoped to one anima; no call can see another anima's chunks.
    """

    def upsert_file(
        self, anima: str, path: str, digest: str, chunks: Sequence[Chunk], vectors: Sequence[Sequence[float]]
    ) -> None:
        """Replace every chunk of ``path`` (chunks in the order of ``vectors``) and record its digest."""
        ...

    def delete_file(self, anima: str, path: str) -> None:
        """Forget every chunk of ``path``."""
        ...

    def drop_anima(self, anima: str) -> None:
        """Forget the whole index of an anima."""
        ...

    def file_digests(self, anima: str) -> dict[str, str]:
        """Indexed paths and the digest of the content they were indexed from."""
        ...

    def count(self, anima: str) -> int:
        """Number of chunks of an anima."""
        ...

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
        """Hybrid search (BM25 + dense) within one anima, best first."""
        ...

    def search_scopes(
        self, anima: str, query: str, vector: Sequence[float], scopes: Sequence[SearchScope]
    ) -> list[list[Hit]]:
        """One hybrid search answering several scopes: the hits of each, as :meth:`search` finds them.

        The query vector and text are shared, so an index can make one pass over the vectors (and
        one chunk lookup) for every scope, where separate searches would repeat it per scope.
        """
        ...

    def chunks(self, anima: str, chunk_ids: Sequence[str]) -> list[Chunk]:
        """Chunks by id (for graph neighbours)."""
        ...

    def close(self) -> None:
        """Release resources."""
        ...
