"""What the cluster test reads from JetStream as the operator: leaders, replicas, every stored id.

Each function takes an admin connection (:meth:`tests.conftest.RunningSystem.admin` opens one
with every member's URL, so any member left alive answers) and changes nothing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import Counter

import nats.errors
from nats.aio.client import Client

from animas_contracts.subjects import ACTIVITY_STREAM, HEADER_MSG_ID
from animas_core.broker_errors import BROKER_UNREACHABLE
from animas_core.streams import read_stored

POLL_S = 0.05
QUERY_ERRORS: tuple[type[Exception], ...] = (*BROKER_UNREACHABLE, nats.errors.Error)
"""While a member is gone or a group elects, a query may time out or be refused: ask again."""


@dataclasses.dataclass(frozen=True)
class Leaders:
    """Who leads what in the cluster at one moment."""

    stream: str
    """The member leading the ACTIVITY stream's Raft group (it orders every publish)."""
    consumers: dict[str, str]
    """Each durable consumer of ACTIVITY by the member leading it."""

    def consumers_led_by(self, member: str) -> list[str]:
        return sorted(name for name, leader in self.consumers.items() if leader == member)


async def leaders(nc: Client) -> Leaders:
    js = nc.jetstream()
    info = await js.stream_info(ACTIVITY_STREAM)
    assert info.cluster is not None and info.cluster.leader, (
        f"{ACTIVITY_STREAM} has no leader: {info.cluster}"
    )
    consumers = {
        c.name: c.cluster.leader
        for c in await js.consumers_info(ACTIVITY_STREAM)
        if c.cluster is not None and c.cluster.leader
    }
    return Leaders(info.cluster.leader, consumers)


async def new_stream_leader(nc: Client, gone: str, timeout_s: float) -> tuple[str, float]:
    """Wait until a member other than ``gone`` leads ACTIVITY; return it and ``time.monotonic()`` then."""
    js = nc.jetstream(timeout=0.5)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            cluster = (await js.stream_info(ACTIVITY_STREAM)).cluster
        except QUERY_ERRORS:
            cluster = None
        if cluster is not None and cluster.leader not in (None, gone):
            return str(cluster.leader), time.monotonic()
        await asyncio.sleep(POLL_S)
    raise AssertionError(f"no new {ACTIVITY_STREAM} leader {timeout_s:g}s after {gone} was killed")


async def consumers_led_again(nc: Client, gone: str, timeout_s: float) -> float:
    """Wait until every durable of ACTIVITY has a leader other than ``gone``; return the time then."""
    js = nc.jetstream(timeout=0.5)
    deadline = time.monotonic() + timeout_s
    orphans: list[str] = []
    while time.monotonic() < deadline:
        try:
            consumers = await js.consumers_info(ACTIVITY_STREAM)
        except QUERY_ERRORS:
            consumers = []
        orphans = [c.name for c in consumers if c.cluster is None or c.cluster.leader in (None, gone)]
        if consumers and not orphans:
            return time.monotonic()
        await asyncio.sleep(POLL_S)
    raise AssertionError(f"durables still without a leader {timeout_s:g}s after {gone} was killed: {orphans}")


async def replicas_current(nc: Client, member: str, timeout_s: float) -> float:
    """Wait until ``member`` is back in ACTIVITY's group and current; return ``time.monotonic()`` then."""
    js = nc.jetstream(timeout=0.5)
    deadline = time.monotonic() + timeout_s
    seen = None
    while time.monotonic() < deadline:
        try:
            seen = (await js.stream_info(ACTIVITY_STREAM)).cluster
        except QUERY_ERRORS:
            seen = None
        if seen is not None and seen.leader is not None:
            peers = {p.name: p for p in seen.replicas or []}
            if seen.leader == member or (
                member in peers and peers[member].current and not peers[member].offline
            ):
                return time.monotonic()
        await asyncio.sleep(POLL_S)
    raise AssertionError(f"{member} not a current replica of {ACTIVITY_STREAM} after {timeout_s:g}s: {seen}")


async def stored_ids(nc: Client) -> Counter[str]:
    """How often each event id (``Nats-Msg-Id``) is stored in ACTIVITY, over the whole stream."""
    ids: Counter[str] = Counter()
    async for msg in read_stored(nc.jetstream(), ">"):
        event_id = (msg.headers or {}).get(HEADER_MSG_ID)
        assert event_id, f"stored without an id: {msg.subject} seq {msg.metadata.sequence.stream}"
        ids[event_id] += 1
    return ids
