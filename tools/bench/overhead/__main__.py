"""Framework-overhead benchmark: chat latency and throughput with an instant model, against raw NATS.

Run from the repository root::

    python tools/bench/overhead_bench.py                         # the published run (~2 min)
    python tools/bench/overhead_bench.py --animas 3 --requests 5 --duration 2 --no-write

It starts a fresh home in a temporary directory with ``anima up``, makes the scripted LLM every
anima's model (it answers at once), measures, stops everything, prints a summary and writes its
section of ``docs/benchmarks.md`` (the other sections are left as they are).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from animas_tools.bench_report import percentile

from .report import ratio, render, write_section
from .run import OverheadRun, Params, run_overhead

REPO = Path(__file__).resolve().parents[3]
DEFAULT_OUTPUT = REPO / "docs" / "benchmarks.md"


def _parser() -> argparse.ArgumentParser:
    d = Params()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--animas", type=int, default=d.animas, help="animas to create")
    parser.add_argument("--requests", type=int, default=d.requests, help="chats one at a time")
    parser.add_argument("--clients", type=int, help="concurrent chat clients (default: one per anima)")
    parser.add_argument("--duration", type=float, default=d.duration_s, help="seconds of sustained load")
    parser.add_argument("--nats-requests", type=int, default=d.nats_requests, help="raw NATS round trips")
    parser.add_argument("--http-requests", type=int, default=d.http_requests, help="raw HTTP round trips")
    parser.add_argument(
        "--rpc-requests", type=int, default=d.rpc_requests, help="direct priming / memory-writer requests"
    )
    parser.add_argument("--warmup-rounds", type=int, default=d.warmup_rounds, help="warm-up rounds")
    parser.add_argument("--workdir", type=Path, help="keep the home and logs here (default: temp, removed)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="the Markdown file to update")
    parser.add_argument("--no-write", action="store_true", help="print the summary only")
    return parser


def _ms(samples: Sequence[float], digits: int = 1) -> str:
    p50, p95 = percentile(samples, 50) * 1000, percentile(samples, 95) * 1000
    return f"p50 {p50:.{digits}f} ms, p95 {p95:.{digits}f} ms"


def summary(run: OverheadRun) -> str:
    """A few lines for the terminal."""
    one, load = run.sequential, run.sustained
    failures = one.failures + load.failures + run.warmup.failures
    return "\n".join(
        [
            f"framework overhead: {run.params.animas} animas, scripted LLM (instant)",
            f"  chat one at a time:     {len(one.samples)} requests, {one.failures} failed,"
            f" {_ms(one.ok_seconds)}",
            f"  chat under load:        {load.clients} clients, {len(load.samples)} requests in"
            f" {load.wall_s:.1f} s, {load.failures} failed, {load.per_second:.1f} messages/s,"
            f" {_ms(load.ok_seconds)}",
            f"  raw NATS request/reply: {_ms(run.nats_remote, 3)} (responder in another process);"
            f" {_ms(run.nats_local, 3)} (in this process)",
            f"  raw HTTP /api/health:   {_ms(run.http_health, 2)}",
            f"  priming prime alone:    {_ms(run.prime_rpc)};"
            f" memory-writer read alone: {_ms(run.read_rpc, 2)}",
            f"  overhead ratio (chat p50 / raw NATS request-reply p50): {ratio(run):,.0f}×",
            f"  failures in all (warm-up included): {failures}; wall time {run.seconds:.0f} s",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; exit status 1 when any chat failed (the report is written all the same)."""
    args = _parser().parse_args(argv)
    params = Params(
        animas=args.animas,
        requests=args.requests,
        clients=args.clients if args.clients is not None else args.animas,
        duration_s=args.duration,
        nats_requests=args.nats_requests,
        http_requests=args.http_requests,
        rpc_requests=args.rpc_requests,
        warmup_rounds=args.warmup_rounds,
    )
    shown = list(sys.argv[1:] if argv is None else argv)
    command = shlex.join(["python", "tools/bench/overhead_bench.py", *shown])
    run = run_overhead(params, workdir=args.workdir, say=lambda line: print(line, flush=True))
    print(summary(run))
    if not args.no_write:
        write_section(args.output, render(run, [command]))
        print(f"written to {args.output}", flush=True)
    failed = run.warmup.failures + run.sequential.failures + run.sustained.failures
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
