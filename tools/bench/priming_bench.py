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
    # ``python -m priming`` would need tools/bench as the working directory; put it on the path
    # instead so the script runs from the repository root (the package reuses ``recall``'s loader).
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    runpy.run_module("priming", run_name="__main__")
