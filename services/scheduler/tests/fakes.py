"""Fakes of the scheduler's ports (cosmicpython style) and a world of replicas over them."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

from animas_contracts import AnimaSummary, Event
from animas_core.config import AnimaWorksConfig, parse_config
from animas_core.faults import FaultPoints
from animas_scheduler.claims import Claims, Cursors
from animas_scheduler.loop import Scheduler
from animas_scheduler.ports import Entry


class FakeStore:
    """The SCHEDULES bucket: create-if-absent and compare-and-set, one revision counter."""

    def __init__(self) -> None:
        self.data: dict[str, Entry] = {}
        self._revision = 0

    def _put(self, key: str, value: bytes) -> int:
        self._revision += 1
        self.data[key] = Entry(value, self._revision)
        return self._revision

    async def get(self, key: str) -> Entry | None:
        return self.data.get(key)

    async def create(self, key: str, value: bytes) -> int | None:
        return None if key in self.data else self._put(key, value)

    async def update(self, key: str, value: bytes, revision: int) -> int | None:
        entry = self.data.get(key)
        if entry is None or entry.revision != revision:
            return None
        return self._put(key, value)


class FakeStream:
    """The activity stream: keeps every publish (duplicates included), answers the ledger's questions."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.failures = 0
        """Publishes that fail (a claimant that dies before its event is stored)."""

    async def publish(self, event: Event) -> None:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("died before publishing")
        self.events.append(event)

    async def last_seq(self) -> int:
        return len(self.events)

    async def stored(self, event: Event, after_seq: int) -> bool:
        return any(e.id == event.id for e in self.events[after_seq:])


@dataclasses.dataclass
class FakeDirectory:
    """memory-writer: the animas and their files."""

    summaries: list[AnimaSummary]
    files: dict[tuple[str, str], str]

    async def animas(self) -> list[AnimaSummary]:
        return list(self.summaries)

    async def read(self, anima: str, path: str) -> str | None:
        return self.files.get((anima, path))


class FakeClock:
    """Simulated time, shared by replicas; each replica may be off by its own offset."""

    def __init__(self, start: datetime) -> None:
        self.time = start
        self.monotonic_s = 0.0

    def advance(self, delta: timedelta) -> None:
        self.time += delta

    def view(self, offset: timedelta = timedelta(0)) -> Any:
        clock = self

        class View:
            def now(self) -> datetime:
                return clock.time + offset

        return View()


@dataclasses.dataclass
class World:
    """Everything replicas share: bucket, stream, directory, time and config."""

    store: FakeStore
    stream: FakeStream
    directory: FakeDirectory
    clock: FakeClock
    config: dict[str, Any]

    def scheduler(self, instance: str, offset: timedelta = timedelta(0), faults: str = "") -> Scheduler:
        def config() -> AnimaWorksConfig:
            return parse_config(self.config)

        scheduler: Scheduler
        claims = Claims(
            store=self.store,
            publisher=self.stream,
            ledger=self.stream,
            instance=instance,
            claim_timeout_s=lambda: scheduler.settings().claim_timeout_s,
            faults=FaultPoints(faults),
            monotonic=lambda: self.clock.monotonic_s,
        )
        scheduler = Scheduler(
            clock=self.clock.view(offset),
            directory=self.directory,
            claims=claims,
            cursors=Cursors(self.store, instance),
            store=self.store,
            publisher=self.stream,
            config=config,
            health={},
            monotonic=lambda: self.clock.monotonic_s,
        )
        return scheduler


START = datetime(2025, 6, 13, 4, 10, tzinfo=UTC)
"""A Friday: 13:10 in Tokyo (alice), 00:10 in New York (bob)."""

HEARTBEAT_MD = "## Execution Interval\nEvery 30 minutes\n\n## Active Hours\n9:00 - 18:00\n"
CRON_MD = (
    "## Weekly review (0 17 * * 5)\nReview the week.\n\n"
    "## Morning check (毎日 9:00)\nRead the news.\n\n"
    "## Broken (every blue moon)\nNever runs.\n"
)


def make_world() -> World:
    """Two animas: alice (heartbeat, Tokyo) and bob (cron tasks, New York), consolidation on Fridays."""
    directory = FakeDirectory(
        summaries=[
            AnimaSummary(name="alice", enabled=True, status={"timezone": "Asia/Tokyo"}),
            AnimaSummary(name="bob", enabled=True, status={}),
        ],
        files={("alice", "heartbeat.md"): HEARTBEAT_MD, ("bob", "cron.md"): CRON_MD},
    )
    config = {
        "system": {"timezone": "America/New_York"},
        "consolidation": {"daily_time": "02:00", "weekly_day": 5, "weekly_time": "03:00"},
        "scheduler": {"reload_s": 0, "claim_timeout_s": 30},
    }
    return World(FakeStore(), FakeStream(), directory, FakeClock(START), config)
