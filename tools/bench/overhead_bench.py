"""Framework-overhead benchmark: chat latency and throughput with an instant model, against raw NATS.

Run from the repository root::

    python tools/bench/overhead_bench.py                  # 20 animas, writes docs/benchmarks.md
    python tools/bench/overhead_bench.py --no-write       # the summary only

A thin entry script: the benchmark itself is the package ``tools/bench/overhead/`` (see its
``__main__.py``), run here as ``python -m overhead`` would run it.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

if __name__ == "__main__":
    # ``python -m overhead`` would need tools/bench as the working directory; put it on the path
    # instead so the script runs from the repository root (``just bench-overhead``).
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    runpy.run_module("overhead", run_name="__main__")
