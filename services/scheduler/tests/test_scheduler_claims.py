"""Claims and cursors over a fake bucket: one winner per range, dead claimants completed once."""

from __future__ import annotations

from datetime import timedelta

import msgspec
import pytest

from animas_core.faults import FaultPoints
from animas_scheduler.claims import ClaimRecord, Claims, ClaimState, Cursors, Outcome
from animas_scheduler.domain import Firing, claim_key, due_event

from .fakes import START, FakeStore, FakeStream

TIMEOUT_S = 30.0
FIRST = START + timedelta(minutes=20)
HEAD = FIRST + timedelta(hours=1)


class Replica:
    """One replica's claims over the shared bucket and stream, with a clock of its own."""

    def __init__(self, store: FakeStore, stream: FakeStream, name: str) -> None:
        self.monotonic_s = 0.0
        self.claims = Claims(
            store=store,
            publisher=stream,
            ledger=stream,
            instance=name,
            claim_timeout_s=lambda: TIMEOUT_S,
            faults=FaultPoints(""),
            monotonic=lambda: self.monotonic_s,
        )

    async def settle(self, firing: Firing) -> tuple[Outcome, object]:
        settled = await self.claims.settle("alice", "heartbeat", firing, START)
        return settled.outcome, settled.end


def record(store: FakeStore, firing: Firing) -> ClaimRecord:
    entry = store.data[claim_key("alice", "heartbeat", firing.first)]
    return msgspec.json.decode(entry.value, type=ClaimRecord)


async def test_ranges_starting_at_the_same_occurrence_have_one_winner() -> None:
    store, stream = FakeStore(), FakeStream()
    a, b = Replica(store, stream, "a"), Replica(store, stream, "b")
    late = Firing(FIRST, HEAD - timedelta(minutes=30), 2, fire=True)  # a replica whose clock is behind
    assert await a.settle(Firing(FIRST, HEAD, 3, fire=True)) == (Outcome.SETTLED, HEAD)
    assert await b.settle(late) == (Outcome.OTHERS, HEAD)  # continue after the winner's range
    (event,) = stream.events
    assert event.id == due_event("alice", "heartbeat", Firing(FIRST, HEAD, 3, fire=True), START).id
    assert record(store, late).state is ClaimState.PUBLISHED


async def test_a_claim_whose_claimant_died_is_completed_once() -> None:
    store, stream = FakeStore(), FakeStream()
    dead, a, b = (Replica(store, stream, n) for n in ("dead", "a", "b"))
    firing = Firing(HEAD, HEAD, 1, fire=True)
    stream.failures = 1
    with pytest.raises(RuntimeError):
        await dead.settle(firing)  # claimed, never published
    assert await a.settle(firing) == (Outcome.WAITING, None)
    assert await b.settle(firing) == (Outcome.WAITING, None)
    a.monotonic_s = b.monotonic_s = TIMEOUT_S - 1
    assert await a.settle(firing) == (Outcome.WAITING, None)  # watched, not long enough
    a.monotonic_s = b.monotonic_s = TIMEOUT_S
    assert await a.settle(firing) == (Outcome.SETTLED, HEAD)
    assert await b.settle(firing) == (Outcome.OTHERS, HEAD)
    assert await dead.settle(firing) == (Outcome.OTHERS, HEAD)
    assert len(stream.events) == 1
    assert (record(store, firing).state, record(store, firing).by) == (ClaimState.PUBLISHED, "a")


async def test_a_taker_publishes_nothing_the_stream_already_holds() -> None:
    store, stream = FakeStore(), FakeStream()
    firing = Firing(HEAD, HEAD, 1, fire=True)
    event = due_event("alice", "heartbeat", firing, START)
    stream.events.append(event)  # published, then the claimant died before marking its claim
    claimed = ClaimRecord(
        state=ClaimState.CLAIMED,
        by="dead",
        at=START,
        first=HEAD,
        head=HEAD,
        count=1,
        event=msgspec.json.encode(event).decode(),
        after_seq=0,
    )
    await store.create(claim_key("alice", "heartbeat", HEAD), msgspec.json.encode(claimed))
    taker = Replica(store, stream, "a")
    assert await taker.settle(firing) == (Outcome.WAITING, None)
    taker.monotonic_s = TIMEOUT_S
    assert await taker.settle(firing) == (Outcome.SETTLED, HEAD)
    assert stream.events == [event] and record(store, firing).state is ClaimState.PUBLISHED


async def test_a_claimant_too_slow_to_publish_leaves_it_to_a_taker() -> None:
    store, stream = FakeStore(), FakeStream()
    slow, taker = Replica(store, stream, "slow"), Replica(store, stream, "taker")
    create = store.create

    async def stalled_create(key: str, value: bytes) -> int | None:
        revision = await create(key, value)
        slow.monotonic_s += TIMEOUT_S  # e.g. the process was paused right after its claim
        return revision

    store.create = stalled_create  # type: ignore[method-assign]
    firing = Firing(HEAD, HEAD, 1, fire=True)
    assert await slow.settle(firing) == (Outcome.WAITING, None)
    assert stream.events == []
    store.create = create  # type: ignore[method-assign]
    await taker.settle(firing)
    taker.monotonic_s = TIMEOUT_S
    assert await taker.settle(firing) == (Outcome.SETTLED, HEAD)
    assert len(stream.events) == 1


async def test_a_passed_over_range_is_claimed_as_skipped_and_publishes_nothing() -> None:
    store, stream = FakeStore(), FakeStream()
    a, b = Replica(store, stream, "a"), Replica(store, stream, "b")
    assert await a.settle(Firing(FIRST, HEAD, 3, fire=False)) == (Outcome.SETTLED, HEAD)
    assert await b.settle(Firing(FIRST, HEAD, 3, fire=True)) == (Outcome.OTHERS, HEAD)
    assert (
        stream.events == [] and record(store, Firing(FIRST, HEAD, 3, fire=False)).state is ClaimState.SKIPPED
    )


async def test_cursors_start_once_and_only_move_forward() -> None:
    store = FakeStore()
    a, b = Cursors(store, "a"), Cursors(store, "b")
    started = await b.start("cursor.alice.x", START - timedelta(minutes=10))
    assert (await a.start("cursor.alice.x", START)).at == started.at  # the first one stays
    assert (await a.advance("cursor.alice.x", HEAD)).at == HEAD
    assert (await b.advance("cursor.alice.x", FIRST)).at == HEAD  # never back
    stale = started.revision
    assert await store.update("cursor.alice.x", b"{}", stale) is None
    current = await a.read("cursor.alice.x")
    assert current is not None and current.at == HEAD
    assert await a.read("cursor.alice.nothing") is None
