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
    positions: dict[int, int]  # rowid -> row, for these arrays (grows with appends)


class VectorMatrix:
    """The vectors of one anima with their rowid, memory type and importance."""

    def __init__(self, dimensions: int) -> None:
        self._dimensions = dimensions
        self._kinds: dict[str, int] = {}
        self._kind_names: list[str] = []
        # The kind code of every rowid (-1: none), for the keyword side's split by memory type.
        self._kind_by_rowid = np.full(1024, -1, dtype=np.int16)
        self._dead = 0
        self._snapshot = _Snapshot(
            matrix=np.zeros((0, dimensions), dtype=np.float32),
            rowids=np.zeros(0, dtype=np.int64),
            kinds=np.zeros(0, dtype=np.int16),
            important=np.zeros(0, dtype=bool),
            alive=np.zeros(0, dtype=bool),
            size=0,
            positions={},
        )

    def __len__(self) -> int:
        return len(self._snapshot.positions)

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
            old.positions[rowid] = size + offset
        self._note_kinds(old.rowids[size:end], old.kinds[size:end])
        self._snapshot = dataclasses.replace(old, size=end)  # publish: readers now see the rows

    def remove(self, rowids: Iterable[int]) -> None:
        """Forget rows by rowid (writer only); unknown rowids are ignored."""
        alive, positions = self._snapshot.alive, self._snapshot.positions
        for rowid in rowids:
            position = positions.pop(rowid, None)
            if position is not None:
                alive[position] = False
                self._kind_by_rowid[rowid] = -1
                self._dead += 1

    def top(self, query: Vectors, filters: Sequence[VectorFilter]) -> list[dict[int, float]]:
        """For each filter, up to ``k`` rowids by cosine similarity (dot product), best first."""
        snap = self._snapshot
        size = snap.size
        if size == 0:
            return [{} for _ in filters]
        # The one pass over the vectors, shared by every filter. einsum runs on the calling thread:
        # a BLAS matrix-vector product fans out to a thread pool that, on a busy 2-core machine,
        # measured 20x slower than one thread at 8k rows (and it is memory-bound either way).
        scores = np.einsum("ij,j->i", snap.matrix[:size], query)
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

    def kind_codes(self, rowids: npt.NDArray[np.int64]) -> npt.NDArray[np.int16]:
        """The memory-type code of each rowid (-1 for a row not held, e.g. deleted)."""
        table = self._kind_by_rowid
        codes = np.full(len(rowids), -1, dtype=np.int16)
        known = rowids < len(table)
        codes[known] = table[rowids[known]]
        return codes

    def codes(self, memory_types: Iterable[str]) -> list[int]:
        """The codes of these memory types (types no row has are left out)."""
        return [self._kinds[t] for t in memory_types if t in self._kinds]

    def memory_types(self) -> frozenset[str]:
        """Every memory type a row has ever had here."""
        return frozenset(self._kind_names)

    def _note_kinds(self, rowids: npt.NDArray[np.int64], kinds: npt.NDArray[np.int16]) -> None:
        table = self._kind_by_rowid
        if len(rowids) and int(rowids.max()) >= len(table):
            # A new, bigger table: readers holding the old one still see valid (older) codes.
            grown = np.full(max(2 * len(table), int(rowids.max()) + 1), -1, dtype=np.int16)
            grown[: len(table)] = table
            table = grown
        table[rowids] = kinds
        self._kind_by_rowid = table

    def _kind(self, memory_type: str) -> int:
        code = self._kinds.get(memory_type)
        if code is None:
            self._kind_names.append(memory_type)  # before the code exists: readers index by it
            code = self._kinds[memory_type] = len(self._kind_names) - 1
        return code

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
        self._dead = 0
        positions = {int(rowid): i for i, rowid in enumerate(rowids[: len(keep)])}
        return _Snapshot(matrix, rowids, kinds, important, alive, len(keep), positions)
