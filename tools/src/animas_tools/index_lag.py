"""How far priming's index is behind the memory changes: its partition durables' backlog, summed.

Priming indexes ``memory.op.applied`` through one durable per activity partition
(``priming-index-p<N>``); an event is behind until its durable acknowledged it, after the index
was written. ``anima status`` prints the sum, ``anima restore`` waits for it to be zero, and the
indexing benchmark polls it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from nats.js import JetStreamContext
from nats.js.api import ConsumerInfo
from nats.js.errors import NotFoundError

from animas_contracts.subjects import ACTIVITY_STREAM

PRIMING_INDEX_PREFIX = "priming-index-p"
"""The name of priming's indexing durables, before the partition number."""


@dataclasses.dataclass(frozen=True)
class IndexLag:
    """The index's backlog: events not yet delivered, and delivered but not yet acknowledged."""

    pending: int
    unacked: int
    durables: int
    """How many indexing durables exist (0: priming has never run on this broker)."""

    @property
    def events(self) -> int:
        """Events whose changes may not be searchable yet."""
        return self.pending + self.unacked

    @property
    def caught_up(self) -> bool:
        """Every stored change is in the index."""
        return self.durables > 0 and self.events == 0

    def line(self) -> str:
        """What ``anima status`` says about it."""
        if not self.durables:
            return "index lag: unknown (priming has not created its durables yet)"
        state = "caught up" if self.caught_up else "behind"
        return (
            f"index lag: {self.events} ({state}; pending={self.pending} unacked={self.unacked}"
            f" over {self.durables} partition durables)"
        )


def is_index_durable(name: str | None) -> bool:
    """Whether a consumer is one of priming's indexing durables."""
    return bool(name and name.startswith(PRIMING_INDEX_PREFIX))


def lag_of(consumers: Iterable[ConsumerInfo]) -> IndexLag:
    """The summed backlog of the indexing durables among ``consumers``."""
    ours = [c for c in consumers if is_index_durable(c.config.durable_name)]
    return IndexLag(
        pending=sum(c.num_pending or 0 for c in ours),
        unacked=sum(c.num_ack_pending or 0 for c in ours),
        durables=len(ours),
    )


async def index_lag(js: JetStreamContext) -> IndexLag:
    """The index's backlog now (no durables when the activity stream does not exist)."""
    try:
        return lag_of(await js.consumers_info(ACTIVITY_STREAM))
    except NotFoundError:
        return IndexLag(pending=0, unacked=0, durables=0)
