"""The machine a run measures on: what it is, how loaded, how busy (from /proc where there is one)."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError:
        return ""


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


def cpus() -> int:
    """CPUs this process may run on (what ``nproc`` prints)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def load_average() -> str:
    """The 1/5/15-minute load averages, or ``n/a``."""
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def cpu_times() -> tuple[float, float] | None:
    """Idle and total CPU time of the whole machine so far (``/proc/stat``), or ``None``."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = [float(x) for x in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    return fields[3] + (fields[4] if len(fields) > 4 else 0.0), sum(fields[:8])


def busy_share(before: tuple[float, float] | None, after: tuple[float, float] | None) -> float | None:
    """Percent of the machine's CPU time that was busy between two :func:`cpu_times`."""
    if before is None or after is None or after[1] <= before[1]:
        return None
    return 100.0 * (1 - (after[0] - before[0]) / (after[1] - before[1]))
