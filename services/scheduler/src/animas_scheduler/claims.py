"""Claims and cursors in the ``SCHEDULES`` bucket: how replicas fire each occurrence exactly once.

A range of due occurrences is claimed with create-if-absent on its first occurrence
(``occ.<occurrence id>``) before its event is published; the claim carries the event itself.
The winner publishes and marks the claim published; a loser leaves it alone. A claim that stays
``claimed`` while a replica watches it for ``claim_timeout_s`` (its claimant died between claim
and publish) is taken over with compare-and-set, and the taker publishes the stored event only
if the activity stream does not hold it yet. A claimant too slow to publish within half that
time gives up, so it never publishes alongside a taker.

A schedule's cursor (``cursor.<anima>.<digest>``) is the latest occurrence whose range is
settled; it moves only forward (compare-and-set, re-read on conflict), so a replica whose clock
is behind, or one that restarts, starts from where the others got to. Claims and cursors
outlive JetStream's duplicate window (``SCHEDULES_TTL_S``): a late replica finds them however
long after.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import time
from collections.abc import Callable
from datetime import datetime

import msgspec

from animas_contracts import Event, decode_event, encode_event
from animas_core.broker import EventSink
from animas_core.faults import FaultPoints
from animas_core.metrics import Metrics
from animas_scheduler.domain import Firing, claim_key, due_event
from animas_scheduler.ports import ClaimStore, EventLedger

_log = logging.getLogger(__name__)

AFTER_CLAIM = "scheduler-after-claim"
"""Fault point between claiming a range and publishing its event (crash tests)."""


class ClaimState(enum.StrEnum):
    """Where a claimed range stands."""

    CLAIMED = "claimed"
    """Claimed; its event may or may not be stored yet."""
    PUBLISHED = "published"
    SKIPPED = "skipped"
    """Passed over on purpose (policy, disabled): nothing to publish."""


class ClaimRecord(msgspec.Struct, frozen=True, kw_only=True):
    """The value of an ``occ.*`` key: who claimed which range, and the event that fires it."""

    state: ClaimState
    by: str
    at: datetime
    first: datetime
    head: datetime
    count: int
    event: str | None = None
    """The encoded due event (None when the range is passed over)."""
    after_seq: int = 0
    """The activity stream's last sequence before the claim: a taker searches after it."""


class CursorRecord(msgspec.Struct, frozen=True, kw_only=True):
    """The value of a ``cursor.*`` key: every occurrence up to ``at`` is settled."""

    at: datetime
    by: str


@dataclasses.dataclass(frozen=True)
class Cursor:
    """A replica's view of a cursor, with the revision to compare-and-set against."""

    at: datetime
    revision: int


class Cursors:
    """Read, start and advance cursors; never backwards."""

    def __init__(self, store: ClaimStore, instance: str) -> None:
        self._store = store
        self._instance = instance

    async def read(self, key: str) -> Cursor | None:
        """The cursor as stored now."""
        entry = await self._store.get(key)
        if entry is None:
            return None
        return Cursor(msgspec.json.decode(entry.value, type=CursorRecord).at, entry.revision)

    async def start(self, key: str, now: datetime) -> Cursor:
        """The stored cursor, or a new one at ``now``: a schedule first seen fires nothing retroactively."""
        return await self.advance(key, now, only_if_absent=True)

    async def advance(self, key: str, to: datetime, *, only_if_absent: bool = False) -> Cursor:
        """Move the cursor forward to ``to``; a cursor already there or later is left as it is."""
        value = msgspec.json.encode(CursorRecord(at=to, by=self._instance))
        while True:
            current = await self.read(key)
            if current is None:
                revision = await self._store.create(key, value)
                if revision is not None:
                    return Cursor(to, revision)
                continue  # another replica created it first: compare with theirs
            if only_if_absent or current.at >= to:
                return current
            revision = await self._store.update(key, value, current.revision)
            if revision is not None:
                return Cursor(to, revision)


class Outcome(enum.Enum):
    """What became of an attempt to settle a range."""

    SETTLED = "settled"
    """This replica published it or passed it over."""
    OTHERS = "others"
    """Another replica's range starts here and is settled: continue after its end."""
    WAITING = "waiting"
    """Another replica holds the claim and may still publish: try again next tick."""


@dataclasses.dataclass(frozen=True)
class Settlement:
    """The outcome and, when settled by anyone, the occurrence the cursor may move to."""

    outcome: Outcome
    end: datetime | None = None


class Claims:
    """Claim ranges, publish their events, and complete claims whose claimant died."""

    def __init__(
        self,
        *,
        store: ClaimStore,
        publisher: EventSink,
        ledger: EventLedger,
        instance: str,
        claim_timeout_s: Callable[[], float],
        faults: FaultPoints,
        metrics: Metrics | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._publisher = publisher
        self._ledger = ledger
        self._instance = instance
        self._timeout_s = claim_timeout_s
        self._faults = faults
        self._monotonic = monotonic
        self._metrics = metrics or Metrics()
        self._watching: dict[tuple[str, int], float] = {}
        """(claim key, revision) → when this replica first saw it ``claimed`` (its own clock only,
        so a replica whose wall clock is off never takes over a claim early)."""

    async def settle(self, anima: str, schedule_key: str, firing: Firing, now: datetime) -> Settlement:
        """Claim ``firing``'s range and publish its event, or learn who did."""
        key = claim_key(anima, schedule_key, firing.first)
        event = due_event(anima, schedule_key, firing, now) if firing.fire else None
        record = ClaimRecord(
            state=ClaimState.CLAIMED if event else ClaimState.SKIPPED,
            by=self._instance,
            at=now,
            first=firing.first,
            head=firing.head,
            count=firing.count,
            event=encode_event(event).decode() if event else None,
            after_seq=await self._ledger.last_seq() if event else 0,
        )
        started = self._monotonic()
        revision = await self._store.create(key, msgspec.json.encode(record))
        if revision is None:
            return await self._existing(key, now)
        if event is None:
            return Settlement(Outcome.SETTLED, firing.head)
        self._faults.reach(AFTER_CLAIM)
        if self._monotonic() - started > self._timeout_s() / 2:
            # Too slow: another replica may take the claim over soon; leave it to whoever does.
            return Settlement(Outcome.WAITING)
        await self._publisher.publish(event)
        self._fired(event, firing.count, (now - firing.head).total_seconds(), taken_over=False)
        published = msgspec.structs.replace(record, state=ClaimState.PUBLISHED)
        await self._store.update(key, msgspec.json.encode(published), revision)
        return Settlement(Outcome.SETTLED, firing.head)

    async def _existing(self, key: str, now: datetime) -> Settlement:
        entry = await self._store.get(key)
        if entry is None:
            return Settlement(Outcome.WAITING)
        record = msgspec.json.decode(entry.value, type=ClaimRecord)
        if record.state is not ClaimState.CLAIMED:
            self._forget(key)
            return Settlement(Outcome.OTHERS, record.head)
        seen = self._watching.setdefault((key, entry.revision), self._monotonic())
        if self._monotonic() - seen < self._timeout_s():
            return Settlement(Outcome.WAITING)
        return await self._take_over(key, entry.revision, record, now)

    async def _take_over(self, key: str, revision: int, record: ClaimRecord, now: datetime) -> Settlement:
        """Complete a claim its claimant left: publish its event unless the stream holds it."""
        mine = msgspec.structs.replace(record, by=self._instance, at=now)
        taken = await self._store.update(key, msgspec.json.encode(mine), revision)
        self._forget(key)
        if taken is None:
            return Settlement(Outcome.WAITING)  # another replica took it over first
        if record.event is not None:
            event = decode_event(record.event.encode())
            if not await self._ledger.stored(event, record.after_seq):
                await self._publisher.publish(event)
                self._fired(event, record.count, (now - record.head).total_seconds(), taken_over=True)
        published = msgspec.structs.replace(mine, state=ClaimState.PUBLISHED)
        await self._store.update(key, msgspec.json.encode(published), taken)
        return Settlement(Outcome.SETTLED, record.head)

    def _forget(self, key: str) -> None:
        for watched in [w for w in self._watching if w[0] == key]:
            del self._watching[watched]

    def _fired(self, event: Event, count: int, drift_s: float, *, taken_over: bool) -> None:
        """Log and count a fired occurrence; ``drift_s`` is how long after its time it fired."""
        # heartbeat.due, cron.due, consolidation.due: the kind is the type's first word.
        self._metrics.fired(event.anima, event.event_type.removesuffix(".due"), drift_s)
        _log.info(
            "fired %s",
            event.event_type,
            extra={"anima": event.anima, "event_id": event.id, "coalesced": count, "taken_over": taken_over},
        )
