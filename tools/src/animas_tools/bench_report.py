"""What every benchmark report needs: percentiles, the machine, and its section of the results.

Each benchmark owns one ``## `` section of docs/benchmarks.md and replaces it in place; the other
sections stay as they are.
"""

from __future__ import annotations

import math
import os
import platform
from collections.abc import Sequence
from pathlib import Path


def percentile(samples: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0–100) by linear interpolation; 0 for no samples."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError:
        return ""


def cpus() -> int:
    """CPUs this process may run on (what ``nproc`` prints)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def machine() -> str:
    """CPU model, CPUs usable by this process, RAM and Python, from /proc where there is one."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in _read("/proc/cpuinfo").splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or platform.machine(),
    )
    kib = next(
        (line.split()[1] for line in _read("/proc/meminfo").splitlines() if line.startswith("MemTotal:")), ""
    )
    ram = f"{int(kib) / 1024**2:.1f} GiB RAM" if kib.isdigit() else "RAM unknown"
    return (
        f"{cpu}, {cpus()} CPUs (`nproc`), {ram}, {platform.system()} {platform.machine()},"
        f" {platform.python_implementation()} {platform.python_version()}"
    )


def load_average() -> str:
    """The 1/5/15-minute load averages (the machine may be shared; latency depends on it), or ``n/a``."""
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def write_section(path: Path, heading: str, section: str) -> None:
    """Put ``section`` in place of the file's section under ``heading``, or at its end; keep the rest."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    lines = text.splitlines()
    try:
        begin = lines.index(heading)
    except ValueError:
        body = text.rstrip("\n") + "\n\n" + section.rstrip("\n") + "\n"
    else:
        end = next((i for i in range(begin + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        before, after = "\n".join(lines[:begin]).rstrip("\n"), "\n".join(lines[end:])
        body = (
            (before + "\n\n" if before else "")
            + section.rstrip("\n")
            + "\n"
            + ("\n" + after + "\n" if after else "")
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")
