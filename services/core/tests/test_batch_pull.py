"""Batch consumption: what is ready is taken at once, acked after the work, and a failed batch is
handled message by message under the error policy."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from animas_contracts import ContractError, DeadLetter
from animas_core.batch_pull import READY_WAIT_S, Settle, next_batch
from animas_core.policy import Delivery, RetryPolicy


@dataclasses.dataclass
class FakeDelivery:
    data: bytes
    subject: str = "activity.1.sample.memory.op.applied"
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    deliveries: int = 1
    stream: str | None = "ACTIVITY"
    stream_seq: int | None = 7
    settled: list[str] = dataclasses.field(default_factory=list)

    async def ack(self) -> None:
        self.settled.append("ack")

    async def nak(self, delay_s: float) -> None:
        self.settled.append("nak")

    async def term(self) -> None:
        self.settled.append("term")

    async def in_progress(self) -> None:
        pass


class FakeSink:
    def __init__(self) -> None:
        self.letters: list[DeadLetter] = []

    async def send(self, letter: DeadLetter) -> None:
        self.letters.append(letter)


def settle(batch_calls: list[list[bytes]], sink: FakeSink) -> Settle:
    async def batch(deliveries: Sequence[Delivery]) -> None:
        batch_calls.append([d.data for d in deliveries])
        if any(d.data == b"poison" for d in deliveries):
            raise ContractError("not an event")

    async def one(delivery: Delivery) -> None:
        if delivery.data == b"poison":
            raise ContractError("not an event")

    return Settle(batch, one, service="priming", sink=sink, retry=RetryPolicy(), keepalive_s=60.0)


async def test_a_lone_message_does_not_wait_for_a_full_batch() -> None:
    ready = [FakeDelivery(b"a"), FakeDelivery(b"b"), FakeDelivery(b"c")]
    asked: list[tuple[int, float]] = []

    async def fetch(count: int, timeout_s: float) -> list[Delivery]:
        asked.append((count, timeout_s))
        taken, ready[:count] = ready[:count], []
        return list(taken)

    assert [d.data for d in await next_batch(fetch, 64, idle_wait_s=5.0)] == [b"a", b"b", b"c"]
    assert asked == [(1, 5.0), (63, READY_WAIT_S)]
    assert await next_batch(fetch, 64, idle_wait_s=5.0) == []  # nothing came: no second fetch
    assert asked[-1] == (1, 5.0)


async def test_a_batch_is_worked_once_and_every_message_acked_after_it() -> None:
    calls: list[list[bytes]] = []
    batch = [FakeDelivery(b"a"), FakeDelivery(b"b")]
    await settle(calls, FakeSink())(batch)
    assert calls == [[b"a", b"b"]]
    assert [d.settled for d in batch] == [["ack"], ["ack"]]


async def test_a_failed_batch_is_settled_one_by_one_so_only_the_bad_message_is_dead_lettered() -> None:
    calls: list[list[bytes]] = []
    sink = FakeSink()
    batch = [FakeDelivery(b"a"), FakeDelivery(b"poison"), FakeDelivery(b"c")]
    await settle(calls, sink)(batch)
    assert [d.settled for d in batch] == [["ack"], ["term"], ["ack"]]
    assert [letter.data for letter in sink.letters] == [b"poison"]
