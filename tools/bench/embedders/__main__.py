"""Embedders and Japanese recall: each candidate embedder and keyword tokenizer, measured.

Run from the repository root::

    python tools/bench/embedders_bench.py                 # everything
    python tools/bench/embedders_bench.py --no-locomo     # the Japanese set and speed only
    python tools/bench/embedders_bench.py --no-speed      # recall only

Per embedder (the shipped MiniLM and each bundled-weight candidate installed here): recall on
the Japanese set (dense alone, hybrid with each tokenizer), recall on LoCoMo's held-back half
(dense alone, hybrid), query-embedding latency and batch throughput. Per keyword tokenizer: BM25
recall on the Japanese set. Embeddings are cached under ``.cache/bench/`` (keyed by model and
text), so reruns take seconds; speed is always measured on the uncached model. It writes its own
section of ``docs/benchmarks.md`` in place and keeps the other sections.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from recall.embedding_cache import CachedEmbedder
from recall.locomo import load_locomo

from animas_tools.bench_report import load_average, machine, write_section

from .japanese import JapaneseResult, embedder_rows, keyword_rows, load_set
from .keyword import tokenizers
from .locomo_recall import HELD_BACK, locomo_rows
from .models import available
from .report import TITLE, EmbedderRun, Run, render
from .speed import measure

REPO = Path(__file__).resolve().parents[3]
DEFAULT_DATA = REPO.parent / "shared" / "bench" / "locomo10.json"
DEFAULT_OUTPUT = REPO / "docs" / "benchmarks.md"
JAPANESE_SET = Path(__file__).resolve().parents[1] / "japanese" / "set.json"
CACHE = REPO / ".cache" / "bench" / "embeddings"
SPEED_PASSAGES = 256


def run_bench(data: Path | None, *, with_speed: bool = True, only: frozenset[int] = HELD_BACK) -> Run:
    """Measure every available embedder and tokenizer."""
    started_at, started, load = datetime.now(UTC), time.perf_counter(), load_average()
    japanese = load_set(JAPANESE_SET)
    conversations = [c for c in load_locomo(data) if c.number in only] if data else []
    turns = [turn.text for c in conversations for turn in c.turns][:SPEED_PASSAGES]
    speed_passages = turns or [text for _, text in japanese.memories.values()]
    speed_queries = [query for query, _ in japanese.queries]
    keyword_tokenizers = tokenizers()
    result = JapaneseResult()
    lists = keyword_rows(japanese, keyword_tokenizers, result)
    embedders: list[EmbedderRun] = []
    with tempfile.TemporaryDirectory(prefix="embedders-bench-") as tmp:
        for number, candidate in enumerate(available()):
            print(f"{candidate.name}: loading", flush=True)
            model = candidate.load()
            speed = None
            if with_speed:
                print(f"{candidate.name}: speed", flush=True)
                speed = measure(model, speed_queries, speed_passages)
            cached = CachedEmbedder(model, CACHE)
            try:
                print(f"{candidate.name}: Japanese set", flush=True)
                embedder_rows(
                    candidate.name, cached, japanese, lists, Path(tmp) / f"japanese-{number}", result
                )
                locomo = None
                if conversations:
                    numbers = ", ".join(str(c.number) for c in conversations)
                    print(
                        f"{candidate.name}: LoCoMo conversations {numbers} (a first run embeds them)",
                        flush=True,
                    )
                    locomo = locomo_rows(cached, conversations, Path(tmp) / f"locomo-{number}")
            finally:
                cached.close()
            embedders.append(EmbedderRun(candidate, model.model_name, locomo, speed))
    seconds = time.perf_counter() - started
    kind = "LoCoMo turns" if turns else "Japanese memories"
    numbers = ", ".join(str(c.number) for c in conversations)
    return Run(started_at, load, machine(), seconds, kind, numbers, embedders, keyword_tokenizers, result)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--no-locomo", action="store_true", help="the Japanese set and speed only")
    parser.add_argument("--no-speed", action="store_true", help="recall only (cached embeddings: seconds)")
    parser.add_argument(
        "--conversations",
        type=lambda text: frozenset(int(n) for n in text.split(",")),
        default=HELD_BACK,
        help="held-back LoCoMo conversations to use, e.g. 8,9 (default: all of 5-9)",
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="path of locomo10.json")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where to write the section")
    args = parser.parse_args(argv)
    if not args.no_locomo and not args.data.exists():
        print(f"LoCoMo data not found at {args.data} (see ../shared/bench/README.md)", file=sys.stderr)
        return 2
    report = render(
        run_bench(
            None if args.no_locomo else args.data,
            with_speed=not args.no_speed,
            only=args.conversations & HELD_BACK,
        )
    )
    print(report)
    write_section(args.output, TITLE, report)
    print(f"written to {args.output}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
