"""What the scheduler needs from the world: a clock, the animas, the claims and the stream."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Protocol

from animas_contracts import AnimaSummary, Event


class Clock(Protocol):
    """Where the scheduler reads the time: the system clock, or a controllable one in tests."""

    def now(self) -> datetime:
        """The current time, an aware UTC datetime."""
        ...


class AnimaDirectory(Protocol):
    """Which animas exist and what their schedule files say (memory-writer's ``rpc.memory.*``).

    :class:`animas_core.memory_client.MemoryClient` is the real one: no answer is a
    :class:`animas_core.errors.RetryableError`, and the occurrences wait for the next tick.
    """

    async def animas(self) -> list[AnimaSummary]:
        """Every anima that exists, with its status.json (enabled, time zone)."""
        ...

    async def read(self, anima: str, path: str) -> str | None:
        """A file of the anima (``heartbeat.md``, ``cron.md``), None when it does not exist."""
        ...


@dataclasses.dataclass(frozen=True)
class Entry:
    """A value in the claims store and the revision that wrote it."""

    value: bytes
    revision: int


class ClaimStore(Protocol):
    """Create-if-absent and compare-and-set over keys (the ``SCHEDULES`` KV bucket).

    Every replica's decisions go through these two atomic writes, so two replicas can never both
    believe they own the same range of occurrences, and a cursor never moves back.
    """

    async def get(self, key: str) -> Entry | None:
        """The latest value of ``key``, None when it has none."""
        ...

    async def create(self, key: str, value: bytes) -> int | None:
        """Write ``value`` only if ``key`` has none; the new revision, or None when it had one."""
        ...

    async def update(self, key: str, value: bytes, revision: int) -> int | None:
        """Write ``value`` only if ``key`` is still at ``revision``; the new revision, or None."""
        ...


class EventLedger(Protocol):
    """Asks the activity stream what it holds, to complete a claim whose claimant died."""

    async def last_seq(self) -> int:
        """The activity stream's last sequence now (a claim records it: the search starts there)."""
        ...

    async def stored(self, event: Event, after_seq: int) -> bool:
        """Whether ``event`` (by id, type and anima) was stored after ``after_seq``."""
        ...
