"""Fusing the two sides of a hybrid search (keyword and dense) into one relevance order.

The index finds candidates on each side (BM25 relevance, cosine similarity); this module alone
decides how they combine, so the embedded index and any benchmark share one definition.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

_K = TypeVar("_K", int, str)

RRF_K = 60
"""Reciprocal rank fusion constant (the usual 60: damps the head of each list)."""


def fuse(keyword: Mapping[_K, float], dense: Mapping[_K, float], *, limit: int) -> list[tuple[_K, float]]:
    """The best ``limit`` candidates by fused relevance, best first.

    Args:
        keyword: Candidate id → BM25 relevance (higher is better), best first.
        dense: Candidate id → cosine similarity, best first.
        limit: How many to return.

    Returns:
        ``(id, fused score)`` pairs; ties broken by id so the order is stable.
    """
    fused: dict[_K, float] = {}
    for side in (keyword, dense):
        for position, key in enumerate(side, start=1):
            fused[key] = fused.get(key, 0.0) + 1.0 / (RRF_K + position)
    return sorted(fused.items(), key=lambda pair: (-pair[1], pair[0]))[:limit]
