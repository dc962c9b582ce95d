"""Idle animas: the real scheduler fires every anima's heartbeat each minute; drift, memory, CPU.

nats-server, memory-writer and the scheduler run as real processes with config.json's defaults
(a scheduler tick each second, schedules re-read every 5 s, the hand-edit watcher every 2 s).
Every anima's heartbeat.md says "Every 1 minute" with no active hours, so each minute all of them
are due at the same instant: the worst burst for the scheduler. No agent-runner runs, so a
heartbeat is fired and stored but no cycle handles it: this measures the scheduling side. Drift is
the stored time of a ``heartbeat.due`` minus the occurrence it names (``fire_at``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

from nats.aio.msg import Msg

from animas_contracts import HeartbeatDue, decode_event
from animas_contracts.subjects import stored_activity_filter
from animas_core.streams import read_stored
from animas_tools.bench_report import percentile

from .cluster import Bench, bench, cpu_seconds, rss_mib
from .history import anima_names, create

HEARTBEAT = (
    "# Heartbeat\n\n## Execution Interval\nEvery 1 minute\n\n## Checklist\n- Nothing to do (HEARTBEAT_OK)\n"
)
PROCESSES = ("nats-server", "scheduler", "memory-writer")


@dataclass(frozen=True)
class IdleRun:
    """The idle window's numbers."""

    animas: int
    window_s: float
    fires: int
    expected_fires: int
    drift_p50_s: float
    drift_p99_s: float
    drift_max_s: float
    rss_mib: dict[str, tuple[float, float]]
    """Per process: resident MiB with no anima, and at the end of the window."""
    cpu_share: dict[str, float]
    """Per process: CPU seconds per wall second during the window (1.0 = one core)."""


def _pids(b: Bench) -> dict[str, int]:
    pids = {name: p.pid for name, p in b.processes.items()}
    pids["nats-server"] = b.server.pid or 0
    return pids


async def _fires(b: Bench, since: datetime, until: datetime) -> list[float]:
    """Drift in seconds of every heartbeat stored between ``since`` and ``until``."""
    drifts = []
    scan = read_stored(
        b.admin.jetstream(), stored_activity_filter(event_type="heartbeat.due"), start_time=since
    )
    async with contextlib.aclosing(cast(AsyncGenerator[Msg, None], scan)) as messages:
        async for msg in messages:
            stored = msg.metadata.timestamp
            if stored > until:
                break
            event = decode_event(msg.data)
            if isinstance(event, HeartbeatDue):
                drifts.append((stored - event.fire_at).total_seconds())
    return drifts


async def measure(work: Path, animas: int, minutes: int) -> IdleRun:
    """Create ``animas`` idle animas and watch ``minutes`` whole minutes of heartbeats."""
    async with bench(work) as b:
        (b.home / "config.json").write_text('{"version": 1}')
        b.start_service("memory-writer")
        b.start_service("scheduler")
        await asyncio.sleep(15)  # both settled with no anima: the baseline
        pids = _pids(b)
        baseline = {name: rss_mib(pid) for name, pid in pids.items()}

        await create(b.admin, anima_names(animas), heartbeat=HEARTBEAT)
        await b.quiet("memory-writer-activity")
        # Let the scheduler read every schedule and fire one whole minute before measuring.
        await _until_minute(2)
        since = datetime.now(UTC)
        cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        started = time.perf_counter()
        await asyncio.sleep(minutes * 60.0)
        window = time.perf_counter() - started
        cpu = {name: (cpu_seconds(pid) - cpu_before[name]) / window for name, pid in pids.items()}
        until = datetime.now(UTC)
        rss = {name: (baseline[name], rss_mib(pid)) for name, pid in pids.items()}
        drifts = await _fires(b, since, until)
        return IdleRun(
            animas=animas,
            window_s=window,
            fires=len(drifts),
            expected_fires=animas * minutes,
            drift_p50_s=percentile(drifts, 50),
            drift_p99_s=percentile(drifts, 99),
            drift_max_s=max(drifts, default=0.0),
            rss_mib=rss,
            cpu_share=cpu,
        )


async def _until_minute(whole: int) -> None:
    """Sleep past ``whole`` minute boundaries, to 30 s into the minute (between bursts)."""
    now = time.time()
    target = (now // 60 + whole) * 60 + 30
    await asyncio.sleep(target - now)
