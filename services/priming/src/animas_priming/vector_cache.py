"""The vectors of the chunks the indexer wrote last, so a changed file re-embeds only what changed.

A day's episode file grows by one section per chat; without this, every chat re-embedded the
whole day. Keyed by the chunk's text digest within its file: a section that reads the same has
the same vector (one model per process; the cache lives and dies with it). Bounded by vector
count, least recently indexed files dropped first: a miss only costs an embedding.
"""

from __future__ import annotations

import array
import hashlib
from collections import OrderedDict
from collections.abc import Sequence
from typing import TypeAlias

Vector: TypeAlias = "array.array[float]"
"""A float32 vector: a quarter of a list of Python floats, and what the index stores anyway."""


def text_digest(text: str) -> str:
    """The key of a chunk's text."""
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


class VectorCache:
    """``(anima, path) → {chunk text digest → vector}`` for the files indexed most recently."""

    def __init__(self, max_vectors: int = 50_000) -> None:
        self._max_vectors = max_vectors
        self._files: OrderedDict[tuple[str, str], dict[str, Vector]] = OrderedDict()
        self._size = 0

    def __len__(self) -> int:
        """Vectors held."""
        return self._size

    def lookup(self, anima: str, path: str) -> dict[str, Vector]:
        """The known vectors of the file's chunks as last indexed (empty when unknown)."""
        return self._files.get((anima, path), {})

    def remember(
        self, anima: str, path: str, digests: Sequence[str], vectors: Sequence[Sequence[float]]
    ) -> None:
        """Record the file's current chunks (replacing what it held), evicting the oldest files."""
        self.forget(anima, path)
        entry = {
            digest: vector if isinstance(vector, array.array) else array.array("f", vector)
            for digest, vector in zip(digests, vectors, strict=True)
        }
        self._files[(anima, path)] = entry
        self._size += len(entry)
        while self._size > self._max_vectors and len(self._files) > 1:
            _, dropped = self._files.popitem(last=False)
            self._size -= len(dropped)

    def forget(self, anima: str, path: str) -> None:
        """Drop one file's vectors (it was deleted)."""
        dropped = self._files.pop((anima, path), None)
        if dropped is not None:
            self._size -= len(dropped)

    def forget_anima(self, anima: str) -> None:
        """Drop every file of an anima (its index is rebuilt from scratch)."""
        for key in [key for key in self._files if key[0] == anima]:
            self.forget(*key)
