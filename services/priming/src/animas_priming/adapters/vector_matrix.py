"""One anima's vectors held in memory: exact top-k by a single matrix-vector product.

At 10k–100k chunks a brute-force scan over a float32 matrix is a few milliseconds (memory
bandwidth), exact, and needs no index to tune. The SQLite file stays the source of truth; this is
a cache of its ``embedding`` column, loaded on first search and kept in step by the writer.

Readers take no lock. The writer (serialised by the caller) never changes a row a published
snapshot can see, except to mark it deleted: new rows go past the snapshot's ``size`` and become
visible when a new snapshot is published; growing or compacting builds new arrays. A reader that
sees a row just deleted returns its rowid, which the chunk lookup in SQLite then drops.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]


@dataclasses.dataclass(frozen=True)
class VectorFilter:
    """Which rows one part of a search may return, and how many."""

    memory_types: frozenset[str]
    important_only: bool
    k: int


@dataclasses.dataclass(frozen=True)
class _Snapshot:
    matrix: Vectors  # capacity x dimensions; rows past ``size`` are not published yet
    rowids: npt.NDArray[np.int64]
    kinds: npt.NDArray[np.int16]
    important: npt.NDArray[np.bool_]
    alive: npt.NDArray[np.bool_]  # shared with later snapshots: a delete is seen at once
    size: int


class VectorMatrix:
    """The vectors of one anima with their rowid, memory type and importance."""

    def __init__(self, dimensions: int) -> None:
        self._dimensions = dimensions
        self._kinds: dict[str, int] = {}
        self._positions: dict[int, int] = {}
        self._dead = 0
        self._snapshot = _Snapshot(
            matrix=np.zeros((0, dimensions), dtype=np.float32),
            rowids=np.zeros(0, dtype=np.int64),
            kinds=np.zeros(0, dtype=np.int16),
            important=np.zeros(0, dtype=bool),
            alive=np.zeros(0, dtype=bool),
            size=0,
        )

    def __len__(self) -> int:
        return len(self._positions)

    def add(self, rows: Sequence[tuple[int, str, bool]], vectors: Vectors) -> None:
        """Append rows ``(rowid, memory type, important)`` with their vectors (writer only)."""
        if not rows:
            return
        old = self._snapshot
        size, count = old.size, len(rows)
        if size + count > len(old.matrix) or self._dead > max(size // 2, 1024):
            old = self._rebuilt(size + count)
            size = old.size
        end = size + count
        old.matrix[size:end] = vectors
        old.rowids[size:end] = [rowid for rowid, _, _ in rows]
        old.kinds[size:end] = [self._kind(memory_type) for _, memory_type, _ in rows]
        old.important[size:end] = [important for _, _, important in rows]
        old.alive[size:end] = True
        for offset, (rowid, _, _) in enumerate(rows):
            self._positions[rowid] = size + offset
        self._snapshot = dataclasses.replace(old, size=end)  # publish: readers now see the rows

    def remove(self, rowids: Iterable[int]) -> None:
        """Forget rows by rowid (writer only); unknown rowids are ignored."""
        alive = self._snapshot.alive
        for rowid in rowids:
            position = self._positions.pop(rowid, None)
            if position is not None:
                alive[position] = False
                self._dead += 1

    def top(self, query: Vectors, filters: Sequence[VectorFilter]) -> list[dict[int, float]]:
        """For each filter, up to ``k`` rowids by cosine similarity (dot product), best first."""
        snap = self._snapshot
        size = snap.size
        if size == 0:
            return [{} for _ in filters]
        scores = snap.matrix[:size] @ query  # the one pass over the vectors, shared by every filter
        alive = snap.alive[:size]
        results: list[dict[int, float]] = []
        for wanted in filters:
            if wanted.k <= 0:
                results.append({})
                continue
            codes = [self._kinds[t] for t in wanted.memory_types if t in self._kinds]
            mask = alive & np.isin(snap.kinds[:size], codes)
            if wanted.important_only:
                mask &= snap.important[:size]
            candidates = np.flatnonzero(mask)
            if len(candidates) > wanted.k:
                best = np.argpartition(-scores[candidates], wanted.k - 1)[: wanted.k]
                candidates = candidates[best]
            picked = scores[candidates]
            order = np.lexsort((snap.rowids[candidates], -picked))  # best first, ties by rowid
            results.append({int(snap.rowids[candidates[i]]): float(picked[i]) for i in order})
        return results

    def _kind(self, memory_type: str) -> int:
        return self._kinds.setdefault(memory_type, len(self._kinds))

    def _rebuilt(self, needed: int) -> _Snapshot:
        """New arrays holding the live rows, with room for at least ``needed`` rows."""
        old = self._snapshot
        keep = np.flatnonzero(old.alive[: old.size])
        capacity = max(1024, 2 * max(needed - old.size + len(keep), len(keep)))
        matrix = np.empty((capacity, self._dimensions), dtype=np.float32)
        matrix[: len(keep)] = old.matrix[keep]
        rowids = np.zeros(capacity, dtype=np.int64)
        rowids[: len(keep)] = old.rowids[keep]
        kinds = np.zeros(capacity, dtype=np.int16)
        kinds[: len(keep)] = old.kinds[keep]
        important = np.zeros(capacity, dtype=bool)
        important[: len(keep)] = old.important[keep]
        alive = np.zeros(capacity, dtype=bool)
        alive[: len(keep)] = True
        self._positions = {int(rowid): i for i, rowid in enumerate(rowids[: len(keep)])}
        self._dead = 0
        return _Snapshot(matrix, rowids, kinds, important, alive, len(keep))
