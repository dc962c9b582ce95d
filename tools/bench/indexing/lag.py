"""The index's backlog through a run: priming's partition durables, polled every few milliseconds.

A sample also counts what the indexing durables have acknowledged so far (their ack floors,
summed), so throughput is events indexed per second, and what is still upstream of the index
(agent-runner's and memory-writer's durables), so "caught up" means no change is still on its way.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time

from nats.js import JetStreamContext

from animas_contracts.subjects import ACTIVITY_STREAM
from animas_tools.index_lag import is_index_durable, lag_of

UPSTREAM = ("agent-runner-p", "agent-runner-tasks-p", "memory-writer-")
"""Durables whose work may still produce memory changes (a cycle, a write being applied)."""


@dataclasses.dataclass(frozen=True)
class LagSample:
    """The backlog at one moment."""

    at: float
    """``time.perf_counter()`` when taken."""
    lag: int
    """Events not yet indexed (pending + unacknowledged, over every partition durable)."""
    indexed: int
    """Events the indexing durables have acknowledged since they were created."""
    upstream: int
    """Events agent-runner and memory-writer have not finished (changes still to come)."""

    @property
    def settled(self) -> bool:
        """Nothing left to index and nothing on its way."""
        return self.lag == 0 and self.upstream == 0


async def sample(js: JetStreamContext) -> LagSample:
    """One reading of every activity durable (one consumer-list request)."""
    consumers = await js.consumers_info(ACTIVITY_STREAM)
    ours = [c for c in consumers if is_index_durable(c.config.durable_name)]
    upstream = [c for c in consumers if (c.config.durable_name or "").startswith(UPSTREAM)]
    return LagSample(
        at=time.perf_counter(),
        lag=lag_of(consumers).events,
        indexed=sum(c.ack_floor.consumer_seq for c in ours if c.ack_floor),
        upstream=sum((c.num_pending or 0) + (c.num_ack_pending or 0) for c in upstream),
    )


class LagRecorder:
    """Samples the backlog every ``interval_s`` until stopped; :meth:`settled_after` waits for zero."""

    def __init__(self, js: JetStreamContext, interval_s: float = 0.1) -> None:
        self._js = js
        self._interval_s = interval_s
        self.samples: list[LagSample] = []

    async def run(self) -> None:
        """Sample until cancelled."""
        while True:
            self.samples.append(await sample(self._js))
            await asyncio.sleep(self._interval_s)

    async def settled_after(self, since: float, timeout_s: float) -> LagSample | None:
        """The first sample taken after ``since`` with nothing left to index; None on timeout."""
        deadline = time.perf_counter() + timeout_s
        while time.perf_counter() < deadline:
            found = next((s for s in self.samples if s.at >= since and s.settled), None)
            if found is not None:
                return found
            await asyncio.sleep(self._interval_s)
        return None

    def at(self, moment: float) -> LagSample:
        """The first sample taken at or after ``moment`` (the last one if none is)."""
        return next((s for s in self.samples if s.at >= moment), self.samples[-1])

    def between(self, begin: float, end: float) -> list[LagSample]:
        """The samples taken in ``[begin, end]``."""
        return [s for s in self.samples if begin <= s.at <= end]
