"""Embedders and Japanese recall: each candidate embedder and keyword tokenizer, measured.

Run from the repository root::

    python tools/bench/embedders_bench.py                 # everything
    python tools/bench/embedders_bench.py --no-locomo     # the Japanese set and speed only

A thin entry script: the benchmark itself is the package ``tools/bench/embedders/`` (see its
``__main__.py``), run here as ``python -m embedders`` would run it.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

if __name__ == "__main__":
    # ``python -m embedders`` would need tools/bench as the working directory; put it on the path
    # instead so the script runs from the repository root (``just bench-embedders``).
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    runpy.run_module("embedders", run_name="__main__")
