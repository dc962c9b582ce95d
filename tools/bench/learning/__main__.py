"""The underdog grows: the bundled 135M model on a routine task over simulated weeks, consolidated or not.

Run from the repository root::

    python tools/bench/learning_bench.py                 # 4 simulated weeks (~5–8 min on 2 CPUs)
    python tools/bench/learning_bench.py --weeks 2 --no-write

It starts `anima up` with the bundled local model in a temporary home, prints a summary and writes
its section of ``docs/benchmarks.md`` (the other sections are left as they are).
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from animas_tools.bench_report import load_average, write_section

from .prompts import check_prompts
from .report import HEADING, render
from .routine import TASKS
from .run import CONSOLIDATED, CONTROL, LearningRun, run_learning
from .system import LocalSystem

REPO = Path(__file__).resolve().parents[3]
DEFAULT_OUTPUT = REPO / "docs" / "benchmarks.md"
DEFAULT_LOG = Path(tempfile.gettempdir()) / "learning-bench-up.log"


def _weeks(value: str) -> int:
    weeks = int(value)
    if not 2 <= weeks <= 6:
        raise argparse.ArgumentTypeError("weeks must be 2 to 6 (week 1 teaches, later weeks apply)")
    return weeks


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--weeks", type=_weeks, default=4, help="simulated weeks, 2 to 6 (default 4)")
    parser.add_argument("--log", type=Path, default=DEFAULT_LOG, help="where `anima up` writes its output")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="the Markdown file to update")
    parser.add_argument("--no-write", action="store_true", help="print the summary only")
    return parser


def summary(run: LearningRun) -> str:
    """A few lines for the terminal."""
    rows = [
        f"week {w}: errors with consolidation {run.errors(CONSOLIDATED, w)}/{run.asked(CONSOLIDATED, w)},"
        f" without {run.errors(CONTROL, w)}/{run.asked(CONTROL, w)}"
        for w in range(1, run.weeks + 1)
    ]
    return "\n".join([f"learning: {len(TASKS)} routine questions per week, {run.weeks} weeks", *rows])


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point."""
    args = _parser().parse_args(argv)
    shown = list(sys.argv[1:] if argv is None else argv)
    command = shlex.join(["python", "tools/bench/learning_bench.py", *shown])
    load = load_average()
    with tempfile.TemporaryDirectory(prefix="learning-bench-") as workdir:
        system = LocalSystem(Path(workdir) / "home", args.log)
        print(f"starting anima up with the bundled local model; its log: {args.log}", flush=True)
        try:
            system.start()
            run = run_learning(system, TASKS, weeks=args.weeks)
            check_prompts(system, run, TASKS)
        finally:
            system.stop()
    print(summary(run))
    if not args.no_write:
        write_section(args.output, HEADING, render(run, TASKS, [command], load))
        print(f"written to {args.output}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
