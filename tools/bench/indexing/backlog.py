"""The catch-up phase: many memory changes stored at once, then how fast the index works them off.

The burst measures whether the index keeps up with chats; it cannot show how fast the index
drains a backlog, because chats arrive slower than it indexes. Here the operator stores
``episode.append`` operations for every anima as fast as JetStream takes them (what a cycle asks
memory-writer for after a chat); memory-writer applies them and priming indexes the results.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from nats.aio.client import Client

from animas_contracts import AppendEpisode, MemoryOpRequested, encode_event, uuid7
from animas_contracts.subjects import ACTIVITY_STREAM, HEADER_EVENT_TYPE, HEADER_MSG_ID, activity_subject

from .lag import LagRecorder, LagSample


@dataclasses.dataclass(frozen=True)
class Backlog:
    """One catch-up phase."""

    changes: int
    publish_s: float
    """Seconds to store every change."""
    began: LagSample
    settled: LagSample | None
    peak_lag: int

    @property
    def seconds(self) -> float | None:
        """From the first change stored to nothing left to index."""
        return None if self.settled is None else self.settled.at - self.began.at

    @property
    def indexed(self) -> int:
        """Index events acknowledged in the phase (one per applied change)."""
        return 0 if self.settled is None else self.settled.indexed - self.began.indexed


def episode_change(anima: str, n: int) -> MemoryOpRequested:
    """The operation a chat's cycle asks for, with a note of its own."""
    event_id = uuid7()
    op = AppendEpisode(
        title=f"Backlog note {n}",
        at=datetime.now(UTC),
        trigger="benchmark backlog",
        decision=f"Recorded backlog note {n}",
        result=f"Note {n}: the supplier call moves to slot {n % 17}.",
    )
    return MemoryOpRequested(id=event_id, anima=anima, correlation_id=event_id, producer="cli", op=op)


async def run_backlog(
    nc: Client, recorder: LagRecorder, names: Sequence[str], count: int, timeout_s: float
) -> Backlog:
    """Store ``count`` changes over the animas in turn, then wait until the index has them all."""
    js = nc.jetstream()
    began = time.perf_counter()
    for n in range(count):
        event = episode_change(names[n % len(names)], n)
        await js.publish(
            activity_subject(event.anima, event.event_type),
            encode_event(event),
            stream=ACTIVITY_STREAM,
            headers={HEADER_MSG_ID: event.id, HEADER_EVENT_TYPE: event.event_type},
        )
    published = time.perf_counter()
    settled = await recorder.settled_after(published, timeout_s)
    end = settled.at if settled is not None else time.perf_counter()
    return Backlog(
        changes=count,
        publish_s=published - began,
        began=recorder.at(began),
        settled=settled,
        peak_lag=max((s.lag for s in recorder.between(began, end)), default=0),
    )
