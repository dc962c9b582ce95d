"""The machine a run measures on: what it is, how loaded, how busy (from /proc where there is one)."""

from __future__ import annotations

from animas_tools.bench_report import cpus, load_average, machine

__all__ = ["busy_share", "cpu_times", "cpus", "load_average", "machine"]


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
