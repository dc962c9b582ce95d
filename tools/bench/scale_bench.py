"""Scale on one machine: rebuild time with and without projection snapshots, 1,000 idle animas.

Run from the repository root::

    python tools/bench/scale_bench.py                      # both parts; writes docs/benchmarks.md
    python tools/bench/scale_bench.py --only idle --idle-animas 50 --idle-minutes 1 --no-write

A thin entry script: the benchmark itself is the package ``tools/bench/scale/``.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    runpy.run_module("scale", run_name="__main__")
