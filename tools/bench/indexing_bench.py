"""Index throughput benchmark: a burst of chats across 20 animas, then how fast priming's index catches up.

Run from the repository root::

    python tools/bench/indexing_bench.py                 # 20 animas, 450 chats; writes docs/benchmarks.md
    python tools/bench/indexing_bench.py --animas 3 --chats 12 --no-write

A thin entry script: the benchmark itself is the package ``tools/bench/indexing/`` (see its
``__main__.py``), run here as ``python -m indexing`` would run it.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

if __name__ == "__main__":
    # ``python -m indexing`` would need tools/bench as the working directory; put it on the path
    # instead so the script runs from the repository root (``just bench-indexing``).
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    runpy.run_module("indexing", run_name="__main__")
