"""Learning benchmark: does consolidation let the 135M local model apply a correction weeks later?

Run from the repository root::

    python tools/bench/learning_bench.py            # starts `anima up` with the bundled model itself

A thin entry script: the benchmark itself is the package ``tools/bench/learning/`` (see its
``__main__.py``), run here as ``python -m learning`` would run it.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

if __name__ == "__main__":
    # ``python -m learning`` would need tools/bench as the working directory; put it on the path
    # instead so the script runs from the repository root (``just bench-learning``).
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    runpy.run_module("learning", run_name="__main__")
