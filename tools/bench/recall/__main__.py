"""Recall benchmark: LoCoMo evidence recall per retriever and ranking component, priming latency.

Run from the repository root::

    python tools/bench/recall_bench.py            # everything (100k-chunk latency included)
    python tools/bench/recall_bench.py --quick    # latency at 1k and 10k chunks only

It prints a Markdown report and writes it to ``docs/benchmarks.md``.

Recall: every turn of each LoCoMo conversation becomes one episode entry of an anima (one
``episodes/<session date>.md`` file per day, one ``## HH:MM <speaker>`` section per turn), indexed
with the product's chunker, embedder and embedded index, so each indexed chunk is one turn and the
evidence ids of a question map one to one onto chunks. The data (CC BY-NC 4.0) is read from
``../shared/bench/locomo10.json`` at run time and never copied into the repository.

Latency: one anima with 1k, 10k and 100k chunks made from LoCoMo turns (each mixed with a piece of
another turn, so no two are the same), primed end to end by the product's ``Primer`` (all six
channels, query embedding included) with an in-process memory client and a no-op event sink.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from animas_core.config import AnimaWorksConfig
from animas_priming.adapters.embedder import SentenceTransformerEmbedder

from .corpus import embed_corpus, synthetic_sections
from .latency import LatencyRow, time_priming
from .locomo import load_locomo
from .report import Run, render
from .retrievers import bench_recall
from .throughput import bench_throughput

REPO = Path(__file__).resolve().parents[3]
DEFAULT_DATA = REPO.parent / "shared" / "bench" / "locomo10.json"
DEFAULT_OUTPUT = REPO / "docs" / "benchmarks.md"
LATENCY_SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (1_000, 10_000)


def _load() -> str:
    try:
        return " / ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "n/a"


def _sections(text: str) -> dict[str, str]:
    """The ``## `` sections of a Markdown file, by heading line, in order."""
    sections: dict[str, list[str]] = {}
    heading: str | None = None
    for line in text.splitlines():
        if line.startswith("## "):
            heading = line
            sections[heading] = []
        if heading is not None:
            sections[heading].append(line)
    return {title: "\n".join(lines) for title, lines in sections.items()}


def keep_other_sections(report: str, output: Path) -> str:
    """``report`` followed by the sections other benchmarks wrote into ``output`` (the underdog one)."""
    if not output.exists():
        return report
    ours = _sections(report)
    theirs = [
        body for heading, body in _sections(output.read_text(encoding="utf-8")).items() if heading not in ours
    ]
    return report.rstrip("\n") + "\n" + "".join("\n" + body.rstrip("\n") + "\n" for body in theirs)


async def run_bench(quick: bool, data: Path, output: Path) -> Run:
    """Run every part of the benchmark and return what the report needs."""
    started_at = datetime.now(UTC)
    started = time.perf_counter()
    load_start = _load()
    print(f"loading {data}", flush=True)
    conversations = load_locomo(data)
    embedder = SentenceTransformerEmbedder()
    settings = AnimaWorksConfig()  # the defaults: graph threshold, hops and half-life as shipped
    with tempfile.TemporaryDirectory(prefix="recall-bench-") as tmp:
        workdir = Path(tmp)
        print("recall: indexing and querying the 10 conversations", flush=True)
        recall = bench_recall(
            conversations,
            embedder,
            workdir,
            threshold=settings.rag.implicit_link_threshold,
            hops=settings.rag.max_graph_hops,
            half_life_days=settings.rag.recency_half_life_days,
            spreading_types=list(settings.rag.spreading_memory_types),
        )
        turns = [turn for conversation in conversations for turn in conversation.turns]
        print("embedding throughput", flush=True)
        throughput = bench_throughput(embedder, turns)
        sizes = QUICK_SIZES if quick else LATENCY_SIZES
        sections = synthetic_sections(turns, max(sizes))
        begin = time.perf_counter()
        vectors = embed_corpus(embedder, sections)
        corpus_embed_s = time.perf_counter() - begin
        latency: list[LatencyRow] = []
        for size in sizes:
            print(f"priming latency at {size:,} chunks", flush=True)
            row = await time_priming(embedder, sections, vectors, size, conversations, workdir)
            print(
                f"  {size:,} chunks: prime p50/p95 {row.prime[0]:.1f}/{row.prime[1]:.1f} ms,"
                f" search {row.search[0]:.1f}/{row.search[1]:.1f} ms",
                flush=True,
            )
            latency.append(row)
    run = Run(quick, started_at, load_start, recall, latency, throughput, corpus_embed_s)
    run.seconds = time.perf_counter() - started
    run.load_end = _load()
    return run


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="priming latency at 1k and 10k chunks only")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="path of locomo10.json")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where to write the report")
    args = parser.parse_args(argv)
    if not args.data.exists():
        print(f"LoCoMo data not found at {args.data} (see ../shared/bench/README.md)", file=sys.stderr)
        return 2
    run = asyncio.run(run_bench(args.quick, args.data, args.output))
    report = render(run)
    print(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(keep_other_sections(report, args.output), encoding="utf-8")
    print(f"written to {args.output}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
