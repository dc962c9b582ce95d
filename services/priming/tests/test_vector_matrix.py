"""The in-memory vectors: exact top-k per filter, kept in step by adds and removes, snapshots stable."""

from __future__ import annotations

import numpy as np

from animas_priming.adapters.vector_matrix import VectorFilter, VectorMatrix

ALL = frozenset({"episodes", "knowledge"})


def unit(*values: float) -> np.ndarray:
    vector = np.asarray(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def rows(count: int, start: int = 1) -> tuple[list[tuple[int, str, bool]], np.ndarray]:
    """Rows whose vectors turn away from (1, 0) as the rowid grows: the order is known."""
    meta = [(start + i, "episodes" if i % 2 else "knowledge", i % 3 == 0) for i in range(count)]
    angles = np.linspace(0.0, 1.5, count, dtype=np.float32)
    return meta, np.stack([np.cos(angles), np.sin(angles)], axis=1).astype(np.float32)


def test_top_k_is_exact_and_best_first_per_filter() -> None:
    matrix = VectorMatrix(2)
    meta, vectors = rows(10)
    matrix.add(meta, vectors)
    every, episodes, important = matrix.top(
        unit(1, 0),
        [
            VectorFilter(ALL, False, 3),
            VectorFilter(frozenset({"episodes"}), False, 2),
            VectorFilter(ALL, True, 10),
        ],
    )
    assert list(every) == [1, 2, 3]
    assert list(episodes) == [2, 4]
    assert list(important) == [1, 4, 7, 10]
    assert every[1] > every[2] > every[3]
    assert abs(every[1] - 1.0) < 1e-6  # cosine of unit vectors
    assert matrix.top(unit(1, 0), [VectorFilter(frozenset({"skills"}), False, 5)]) == [{}]


def test_removed_rows_are_never_found_and_new_ones_are() -> None:
    matrix = VectorMatrix(2)
    meta, vectors = rows(10)
    matrix.add(meta, vectors)
    matrix.remove([1, 2, 99])
    assert list(matrix.top(unit(1, 0), [VectorFilter(ALL, False, 2)])[0]) == [3, 4]
    matrix.add([(11, "knowledge", False)], unit(1, 0.01)[None, :])
    assert list(matrix.top(unit(1, 0), [VectorFilter(ALL, False, 2)])[0]) == [11, 3]
    assert len(matrix) == 9


def test_growth_and_compaction_keep_every_live_row() -> None:
    matrix = VectorMatrix(2)
    for block in range(6):  # 6 × 1000 rows, each block's first half removed again
        meta, vectors = rows(1000, start=block * 1000 + 1)
        matrix.add(meta, vectors)
        matrix.remove(rowid for rowid, _, _ in meta[:500])
    assert len(matrix) == 3000
    found = matrix.top(unit(1, 0), [VectorFilter(ALL, False, 10_000)])[0]
    assert sorted(found) == sorted(b * 1000 + 1 + i for b in range(6) for i in range(500, 1000))


def test_a_search_in_flight_keeps_its_snapshot_while_rows_are_added() -> None:
    matrix = VectorMatrix(2)
    meta, vectors = rows(4)
    matrix.add(meta, vectors)
    before = matrix._snapshot  # what a reader holds while the writer appends
    matrix.add([(50, "knowledge", False)], unit(1, 0)[None, :])
    assert before.size == 4
    assert list(before.rowids[: before.size]) == [1, 2, 3, 4]
    assert list(matrix.top(unit(1, 0), [VectorFilter(ALL, False, 2)])[0]) == [1, 50]  # a tie: by rowid
