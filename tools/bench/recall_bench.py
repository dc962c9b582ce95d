"""Recall benchmark: LoCoMo evidence recall per retriever and ranking component, priming latency.

Run from the repository root::

    python tools/bench/recall_bench.py            # everything (100k-chunk latency included)
    python tools/bench/recall_bench.py --quick    # latency at 1k and 10k chunks only

A thin entry script: the benchmark itself is the package ``tools/bench/recall/`` (see its
``__main__.py``), run here as ``python -m recall`` would run it.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

if __name__ == "__main__":
    # ``python -m recall`` would need tools/bench as the working directory; put it on the path
    # instead so the script runs from the repository root (``just bench-recall``).
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    runpy.run_module("recall", run_name="__main__")  # sys.argv[0] stays this script (usage line)
