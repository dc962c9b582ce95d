"""Rebuild time with and without projection snapshots, through memory-writer's own rpc.

memory-writer runs as a process with ``housekeeping.snapshot_every_events`` at its default (1000)
and projects the history live, taking snapshots as it goes; then every anima is rebuilt from
its snapshots, and again from sequence 1 (``full``). Both rebuilds must leave the same files (the
SQLite state compared by its SQL dump), or the run fails.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import msgspec

from animas_contracts import RebuildReply, RebuildRequest
from animas_contracts.subjects import RPC_MEMORY_REBUILD

from .cluster import bench
from .history import anima_names, create, events, publish

SNAPSHOT_EVERY = 1000
WRITER_DURABLE = "memory-writer-activity"


@dataclass(frozen=True)
class RebuildRun:
    """One size's numbers."""

    animas: int
    published: int
    stored: int
    live_s: float
    snapshot_s: float
    snapshot_replayed: int
    full_s: float
    full_replayed: int
    one_snapshot_s: float
    one_full_s: float
    one_replayed: tuple[int, int]
    snapshot_bytes: int
    same_files: bool


def digest(home: Path) -> str:
    """One hash over every projected file (SQLite databases by their SQL dump)."""
    h = hashlib.sha256()
    for root in (home / "animas", home / "boards"):
        for path in sorted(root.rglob("*")):
            if not path.is_file() or path.name.endswith(("-wal", "-shm")):
                continue
            h.update(path.relative_to(home).as_posix().encode() + b"\0")
            if path.suffix == ".db":
                conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
                for line in conn.iterdump():
                    h.update(line.encode())
                conn.close()
            else:
                h.update(path.read_bytes())
    return h.hexdigest()


async def _rebuild(nc: object, anima: str | None, full: bool) -> tuple[float, RebuildReply]:
    request = msgspec.json.encode(RebuildRequest(anima=anima, full=full))
    started = time.perf_counter()
    msg = await nc.request(RPC_MEMORY_REBUILD, request, timeout=7200)  # type: ignore[attr-defined]
    elapsed = time.perf_counter() - started
    reply = msgspec.json.decode(msg.data, type=RebuildReply)
    if not reply.ok:
        raise RuntimeError(f"rebuild failed: {reply.error}")
    return elapsed, reply


async def measure(work: Path, published: int, animas: int) -> RebuildRun:
    """Publish ``published`` events over ``animas`` animas, project them live, rebuild both ways."""
    async with bench(work) as b:
        (b.home / "config.json").write_text(
            json.dumps({"version": 1, "housekeeping": {"snapshot_every_events": SNAPSHOT_EVERY}})
        )
        b.start_service("memory-writer", ANIMAWORKS_WATCH_INTERVAL_S="0")
        names = anima_names(animas)
        started = time.perf_counter()
        await create(b.admin, names)
        await publish(b.admin, events(names, 0, published))
        stored = await b.quiet(WRITER_DURABLE)
        live_s = time.perf_counter() - started
        snapshot_bytes = sum(p.stat().st_size for p in (b.home / "snapshots").rglob("*.tar"))

        # Every anima from its newest periodic snapshot (up to SNAPSHOT_EVERY - 1 events behind),
        # then one anima alone (its periodic snapshot still the newest), then both from sequence 1.
        snapshot_s, from_snapshots = await _rebuild(b.admin, None, full=False)
        if set(from_snapshots.restored) != set(names):
            raise RuntimeError(f"not every anima started from a snapshot: {from_snapshots.fallbacks}")
        expected = digest(b.home)
        one_snapshot_s, one_snapshot = await _rebuild(b.admin, names[0], full=False)
        same = digest(b.home) == expected
        one_full_s, one_full = await _rebuild(b.admin, names[0], full=True)
        full_s, full = await _rebuild(b.admin, None, full=True)
        same = same and digest(b.home) == expected
        return RebuildRun(
            animas=animas,
            published=published,
            stored=stored,
            live_s=live_s,
            snapshot_s=snapshot_s,
            snapshot_replayed=from_snapshots.events,
            full_s=full_s,
            full_replayed=full.events,
            one_snapshot_s=one_snapshot_s,
            one_full_s=one_full_s,
            one_replayed=(one_snapshot.events, one_full.events),
            snapshot_bytes=snapshot_bytes,
            same_files=same,
        )
