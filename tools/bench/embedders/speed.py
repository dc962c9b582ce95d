"""How fast each embedder is here: one query's embedding (p50/p95) and passages per second."""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Sequence

from animas_priming.ports import Embedder


@dataclasses.dataclass(frozen=True)
class Speed:
    """Query latency in ms and batch throughput in passages per second."""

    query_p50: float
    query_p95: float
    passages_per_second: float
    passages: int


def measure(embedder: Embedder, queries: Sequence[str], passages: Sequence[str]) -> Speed:
    """Embed each query alone (after two warm-up calls), then ``passages`` in one call."""
    for text in queries[:2]:
        embedder.embed_query(text)
    timings: list[float] = []
    for text in queries:
        begin = time.perf_counter()
        embedder.embed_query(text)
        timings.append((time.perf_counter() - begin) * 1000)
    cuts = statistics.quantiles(timings, n=20)
    begin = time.perf_counter()
    embedder.embed_passages(list(passages))
    elapsed = time.perf_counter() - begin
    return Speed(statistics.median(timings), cuts[18], len(passages) / elapsed, len(passages))
