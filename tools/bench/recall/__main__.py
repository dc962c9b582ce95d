"""Recall benchmark: LoCoMo evidence recall per retriever and ranking component, on two halves.

Run from the repository root::

    python tools/bench/recall_bench.py             # writes docs/benchmarks.md
    python tools/bench/recall_bench.py --output /tmp/recall.md

It prints a Markdown report and writes it to ``docs/benchmarks.md`` (keeping the sections other
benchmarks wrote there).

Every turn of each LoCoMo conversation becomes one episode entry of an anima (one
``episodes/<session date>.md`` file per day, one ``## HH:MM <speaker>`` section per turn), indexed
with the product's chunker, embedder and embedded index, so each indexed chunk is one turn and the
evidence ids of a question map one to one onto chunks. The data (CC BY-NC 4.0) is read from
``../shared/bench/locomo10.json`` at run time and never copied into the repository.

The conversations are split in two: the ranking's choices are made on the development half
(conversations 0–4) and the report judges them on the held-back half (5–9). Embeddings are cached
under ``.cache/bench/`` (by model and text), so a rerun takes seconds.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from animas_core.config import AnimaWorksConfig
from animas_priming.adapters.embedder import SentenceTransformerEmbedder

from .embedding_cache import CachedEmbedder
from .locomo import DEV, HELD_BACK, load_locomo
from .report import Run, render
from .retrievers import bench_recall
from .throughput import bench_throughput

REPO = Path(__file__).resolve().parents[3]
DEFAULT_DATA = REPO.parent / "shared" / "bench" / "locomo10.json"
DEFAULT_OUTPUT = REPO / "docs" / "benchmarks.md"
CACHE = REPO / ".cache" / "bench"


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


def run_bench(data: Path, throughput: bool) -> Run:
    """Run every part of the benchmark and return what the report needs."""
    started_at = datetime.now(UTC)
    started = time.perf_counter()
    load_start = _load()
    print(f"loading {data}", flush=True)
    conversations = load_locomo(data)
    model = SentenceTransformerEmbedder()
    embedder = CachedEmbedder(model, CACHE)
    settings = AnimaWorksConfig()  # the defaults: graph threshold, hops and half-life as shipped
    halves = {"dev": DEV, "held-back": HELD_BACK}
    results = {}
    try:
        with tempfile.TemporaryDirectory(prefix="recall-bench-") as tmp:
            for half, numbers in halves.items():
                print(
                    f"recall, {half} half: indexing and querying conversations {sorted(numbers)}", flush=True
                )
                results[half] = bench_recall(
                    [c for c in conversations if c.number in numbers],
                    embedder,
                    Path(tmp),
                    threshold=settings.rag.implicit_link_threshold,
                    hops=settings.rag.max_graph_hops,
                    half_life_days=settings.rag.recency_half_life_days,
                    spreading_types=list(settings.rag.spreading_memory_types),
                )
    finally:
        embedder.close()
    turns = [turn for conversation in conversations for turn in conversation.turns]
    speeds = []
    if throughput:
        print("embedding throughput", flush=True)
        speeds = bench_throughput(model, turns)
    run = Run(started_at, load_start, results["dev"], results["held-back"], speeds)
    run.seconds = time.perf_counter() - started
    run.load_end = _load()
    return run


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="path of locomo10.json")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where to write the report")
    parser.add_argument(
        "--no-throughput", action="store_true", help="skip the embedding-throughput section (saves ~30 s)"
    )
    args = parser.parse_args(argv)
    if not args.data.exists():
        print(f"LoCoMo data not found at {args.data} (see ../shared/bench/README.md)", file=sys.stderr)
        return 2
    run = run_bench(args.data, throughput=not args.no_throughput)
    report = render(run)
    print(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(keep_other_sections(report, args.output), encoding="utf-8")
    print(f"written to {args.output}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
