"""Priming latency against its raw floor at 1k, 10k and 100k chunks (``just bench-priming``).

Run from the repository root::

    python tools/bench/priming_bench.py            # 1k, 10k and 100k chunks
    python tools/bench/priming_bench.py --quick    # 1k and 10k only

A thin entry script: the benchmark is the package ``tools/bench/priming/`` (see its ``__main__.py``).
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

if __name__ == "__main__":
    # The package imports the LoCoMo loader as ``tools.bench.recall`` (one name for mypy and for
    # Python): the repository root goes on the path.
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    runpy.run_module("tools.bench.priming", run_name="__main__")
