"""Priming latency: one prime against the raw floor of the same work, at 1k, 10k and 100k chunks.

Run from the repository root::

    python tools/bench/priming_bench.py            # 1k, 10k and 100k chunks
    python tools/bench/priming_bench.py --quick    # 1k and 10k only

It prints the ``## Priming latency`` section and puts it in ``docs/benchmarks.md`` in place of the
old one, keeping the other sections. The corpus is made of LoCoMo turns (``../shared/bench``, read
at run time); its vectors are cached in ``.cache/bench/`` by model and text, so only the first run
on a machine embeds them.
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from recall.locomo import load_locomo

from animas_priming.adapters.embedder import SentenceTransformerEmbedder
from animas_tools.bench_report import load_average, machine, write_section

from .corpus import chunk_texts, synthetic_sections
from .latency import LatencyRow, time_priming
from .report import HEADING, PrimingRun, render
from .vector_cache import BLOCK, cached_vectors

REPO = Path(__file__).resolve().parents[3]
DEFAULT_DATA = REPO.parent / "shared" / "bench" / "locomo10.json"
DEFAULT_OUTPUT = REPO / "docs" / "benchmarks.md"
CACHE = REPO / ".cache" / "bench"
SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (1_000, 10_000)


async def run_bench(sizes: Sequence[int], data: Path, command: str) -> PrimingRun:
    """Embed (or read) the corpus, then time each size."""
    started_at = datetime.now(UTC)
    started = time.perf_counter()
    load_start = load_average()
    conversations = load_locomo(data)
    turns = [turn for conversation in conversations for turn in conversation.turns]
    embedder = SentenceTransformerEmbedder()
    # Whole cache blocks, so a smaller run's vectors are a prefix of a bigger run's.
    sections = synthetic_sections(turns, -(-max(sizes) // BLOCK) * BLOCK)
    print(f"corpus: {len(sections):,} chunks (vectors from {CACHE} where cached)", flush=True)
    begin = time.perf_counter()
    vectors, embedded = cached_vectors(embedder, chunk_texts(sections), CACHE)
    embed_s = time.perf_counter() - begin
    rows: list[LatencyRow] = []
    with tempfile.TemporaryDirectory(prefix="priming-bench-") as tmp:
        for size in sizes:
            print(f"priming at {size:,} chunks", flush=True)
            row = await time_priming(embedder, sections, vectors, size, conversations, Path(tmp))
            print(
                f"  prime p50/p95 {row.prime[0]:.1f}/{row.prime[1]:.1f} ms, floor {row.floor[0]:.1f}/"
                f"{row.floor[1]:.1f} ms, ratio {row.ratio[0]:.2f}/{row.ratio[1]:.2f}",
                flush=True,
            )
            rows.append(row)
    return PrimingRun(
        started_at=started_at,
        machine=machine(),
        load_start=load_start,
        load_end=load_average(),
        seconds=time.perf_counter() - started,
        embedded=embedded,
        embed_s=embed_s,
        rows=rows,
        command=command,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="1k and 10k chunks only")
    parser.add_argument("--sizes", type=int, nargs="+", help="corpus sizes (chunks) to time")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="path of locomo10.json")
    parser.add_argument(
        "--output", type=Path, default=DEFAULT_OUTPUT, help="Markdown file to put the section in"
    )
    args = parser.parse_args(argv)
    if not args.data.exists():
        print(f"LoCoMo data not found at {args.data} (see ../shared/bench/README.md)", file=sys.stderr)
        return 2
    sizes = args.sizes or (QUICK_SIZES if args.quick else SIZES)
    command = shlex.join(["python", "tools/bench/priming_bench.py", *sys.argv[1:]])
    section = render(asyncio.run(run_bench(sizes, args.data, command)))
    print(section)
    write_section(args.output, HEADING, section)
    print(f"written to {args.output}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
