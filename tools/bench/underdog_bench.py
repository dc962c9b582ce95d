"""Underdog benchmark: does primed memory let a 135M local model answer what it could not alone?

Run from the repository root::

    python tools/bench/underdog_bench.py                                # starts local-llm itself
    python tools/bench/underdog_bench.py --base-url http://127.0.0.1:18511/v1   # a running server

A thin entry script: the benchmark itself is the package ``tools/bench/underdog/`` (see its
``__main__.py``), run here as ``python -m underdog`` would run it.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

if __name__ == "__main__":
    # ``python -m underdog`` would need tools/bench as the working directory; put it on the path
    # instead so the script runs from the repository root (``just bench-underdog``).
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    runpy.run_module("underdog", run_name="__main__")
