"""Index throughput benchmark: a burst of chats across 20 animas, then how fast priming's index catches up.

Run from the repository root::

    python tools/bench/indexing_bench.py                          # the published run (~3-5 min)
    python tools/bench/indexing_bench.py --animas 3 --chats 12 --clients 3 --no-write

It starts a fresh home in a temporary directory with ``anima up``, makes the scripted LLM every
anima's model, sends the burst, waits for the index, searches for the last chat's fact, stops
everything, prints a summary and writes its section of ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from .report import numbers, render, write_section
from .run import Params, run_indexing

REPO = Path(__file__).resolve().parents[3]
DEFAULT_OUTPUT = REPO / "docs" / "benchmarks.md"


def _parser() -> argparse.ArgumentParser:
    d = Params()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--animas", type=int, default=d.animas, help="animas to create")
    parser.add_argument("--chats", type=int, default=d.chats, help="chats in the burst")
    parser.add_argument("--clients", type=int, default=d.clients, help="concurrent chat clients")
    parser.add_argument(
        "--drain-timeout", type=float, default=d.drain_timeout_s, help="longest wait for the index"
    )
    parser.add_argument(
        "--backlog", type=int, default=d.backlog, help="changes of the catch-up phase (0: none)"
    )
    parser.add_argument("--workdir", type=Path, help="keep the home and logs here (default: temp, removed)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="the Markdown file to update")
    parser.add_argument("--no-write", action="store_true", help="print the summary only")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; exit status 1 when a chat failed, the index did not catch up or the fact was not found."""
    args = _parser().parse_args(argv)
    params = Params(
        animas=args.animas,
        chats=args.chats,
        clients=args.clients,
        drain_timeout_s=args.drain_timeout,
        backlog=args.backlog,
    )
    shown = list(sys.argv[1:] if argv is None else argv)
    command = shlex.join(["python", "tools/bench/indexing_bench.py", *shown])
    run = run_indexing(params, workdir=args.workdir, say=lambda line: print(line, flush=True))
    print(f"index throughput: {params.animas} animas, {params.chats} chats, {params.clients} clients")
    for name, value in numbers(run).items():
        print(f"  {name}: {value}")
    if not args.no_write:
        write_section(args.output, render(run, [command]))
        print(f"written to {args.output}", flush=True)
    caught_up = run.drained is not None and (run.backlog is None or run.backlog.settled is not None)
    failed = any(not c.ok for c in run.chats) or not caught_up or not run.fact_found
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
