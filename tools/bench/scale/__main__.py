"""``python tools/bench/scale_bench.py``: rebuild with and without snapshots, 1,000 idle animas.

Raw numbers are kept in ``.cache/bench/scale.json`` so ``--report-only`` can write the section
again without measuring (and one part can be measured again with ``--only``).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import idle, rebuild
from .report import render, write_section

ROOT = Path(__file__).resolve().parents[3]
RESULTS = ROOT / ".cache" / "bench" / "scale.json"
BENCHMARKS = ROOT / "docs" / "benchmarks.md"


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,50000", help="events published per rebuild run")
    parser.add_argument("--animas", type=int, default=10, help="animas the rebuild history is spread over")
    parser.add_argument("--idle-animas", type=int, default=1000)
    parser.add_argument("--idle-minutes", type=int, default=3)
    parser.add_argument(
        "--only", choices=("rebuild", "idle"), help="measure one part, keep the other's numbers"
    )
    parser.add_argument("--report-only", action="store_true", help="write the section from the kept numbers")
    parser.add_argument("--no-write", action="store_true", help="print the section, leave docs/ alone")
    return parser.parse_args()


async def _measure(args: argparse.Namespace, kept: dict[str, Any]) -> dict[str, Any]:
    results = dict(kept)
    command = " ".join(["python tools/bench/scale_bench.py", *sys.argv[1:]])
    commands = dict(results.get("commands", {}))
    with tempfile.TemporaryDirectory(prefix="scale-bench-") as tmp:
        if args.only in (None, "rebuild"):
            runs = []
            for size in (int(x) for x in args.sizes.split(",")):
                load_start = os.getloadavg()
                run = await rebuild.measure(Path(tmp) / f"rebuild-{size}", size, args.animas)
                runs.append(
                    {**dataclasses.asdict(run), "load_start": load_start, "load_end": os.getloadavg()}
                )
                print(runs[-1], flush=True)
            results["rebuild"] = runs
            commands["rebuild"] = command
        if args.only in (None, "idle"):
            run_idle = await idle.measure(Path(tmp) / "idle", args.idle_animas, args.idle_minutes)
            results["idle"] = dataclasses.asdict(run_idle)
            commands["idle"] = command
            print(results["idle"], flush=True)
    results["started"] = datetime.now(UTC).isoformat()
    results["commands"] = commands
    return results


def main() -> int:
    """Measure (or reuse the kept numbers) and write the section."""
    args = _arguments()
    kept: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    if args.report_only:
        results = kept
    else:
        results = asyncio.run(_measure(args, kept))
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=1))
    section = render(
        datetime.fromisoformat(results.get("started", datetime.now(UTC).isoformat())),
        results.get("rebuild", []),
        results.get("idle"),
        BENCHMARKS,
        sorted(set(results.get("commands", {}).values())),
    )
    if args.no_write:
        print(section)
    else:
        write_section(BENCHMARKS, section)
        print(f"wrote the '{section.splitlines()[0]}' section of {BENCHMARKS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
