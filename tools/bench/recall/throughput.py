"""Embedding throughput: passages per second for short turns and for ~1,000-character chunks."""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Sequence

from animas_priming.adapters.embedder import SentenceTransformerEmbedder

from .locomo import Turn


@dataclasses.dataclass
class Throughput:
    """Texts embedded per second for one kind of text."""

    kind: str
    texts: int
    mean_chars: float
    per_second: float


def bench_throughput(embedder: SentenceTransformerEmbedder, turns: Sequence[Turn]) -> list[Throughput]:
    """Passages per second (batch 64) for short turns and for ~1,000-character chunks."""
    rng = random.Random(11)
    short = [turn.text for turn in rng.sample(list(turns), min(1_024, len(turns)))]
    long_texts: list[str] = []
    current = ""
    for turn in turns:
        current = f"{current} {turn.text}".strip()
        if len(current) >= 1_000:
            long_texts.append(current[:1_000])
            current = ""
        if len(long_texts) == 256:
            break
    embedder.embed_passages(short[:64])  # warm-up
    results: list[Throughput] = []
    for kind, texts in (("short turns", short), ("~1k-char chunks", long_texts)):
        begin = time.perf_counter()
        embedder.embed_passages(texts)
        elapsed = time.perf_counter() - begin
        results.append(Throughput(kind, len(texts), sum(map(len, texts)) / len(texts), len(texts) / elapsed))
    return results
