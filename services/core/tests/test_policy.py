"""The error policy, with a fake delivery and dead-letter sink."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable

import nats.js.errors
import pytest

from animas_contracts import ContractError, DeadLetter
from animas_core.errors import PoisonMessage, RetryableError
from animas_core.policy import RetryPolicy, in_progress_acks, run_under_policy


@dataclasses.dataclass
class FakeDelivery:
    data: bytes = b"payload"
    subject: str = "activity.1.sample.message.received"
    headers: dict[str, str] = dataclasses.field(default_factory=lambda: {"Nats-Msg-Id": "m1"})
    deliveries: int = 1
    stream: str | None = "ACTIVITY"
    stream_seq: int | None = 42
    settled: list[tuple[str, float]] = dataclasses.field(default_factory=list)
    beats: int = 0

    async def ack(self) -> None:
        self.settled.append(("ack", 0.0))

    async def nak(self, delay_s: float) -> None:
        self.settled.append(("nak", delay_s))

    async def term(self) -> None:
        self.settled.append(("term", 0.0))

    async def in_progress(self) -> None:
        self.beats += 1


class FakeSink:
    def __init__(self, fail: bool = False) -> None:
        self.letters: list[DeadLetter] = []
        self.fail = fail

    async def send(self, letter: DeadLetter) -> None:
        if self.fail:
            raise ConnectionError("NATS is down")
        self.letters.append(letter)


RETRY = RetryPolicy(max_deliveries=3, backoff_s=(0.5, 2.0))


async def _run(delivery: FakeDelivery, sink: FakeSink, error: Exception | None) -> None:
    async def work(data: bytes) -> None:
        assert data == delivery.data
        if error is not None:
            raise error

    await run_under_policy(delivery, work, service="agent-runner", sink=sink, retry=RETRY)


async def test_success_acks() -> None:
    delivery, sink = FakeDelivery(), FakeSink()
    await _run(delivery, sink, None)
    assert delivery.settled == [("ack", 0.0)] and not sink.letters


@pytest.mark.parametrize("error", [ContractError("not an event"), PoisonMessage("bad name")])
async def test_poison_goes_to_the_dead_letters_with_reason_and_bytes(error: Exception) -> None:
    delivery, sink = FakeDelivery(), FakeSink()
    await _run(delivery, sink, error)
    assert delivery.settled == [("term", 0.0)]
    [letter] = sink.letters
    assert letter.data == b"payload" and letter.subject == delivery.subject
    assert letter.reason == f"{type(error).__name__}: {error}"
    assert (letter.service, letter.stream_seq, letter.headers) == ("agent-runner", 42, {"Nats-Msg-Id": "m1"})


@pytest.mark.parametrize("error", [RetryableError("timeout"), KeyError("bug")])
async def test_failures_are_redelivered_with_backoff(error: Exception) -> None:
    for attempt, delay in ((1, 0.5), (2, 2.0)):
        delivery, sink = FakeDelivery(deliveries=attempt), FakeSink()
        await _run(delivery, sink, error)
        assert delivery.settled == [("nak", delay)] and not sink.letters


async def test_when_deliveries_run_out_the_message_is_dead_lettered() -> None:
    delivery, sink = FakeDelivery(deliveries=3), FakeSink()
    await _run(delivery, sink, RetryableError("timeout"))
    assert delivery.settled == [("term", 0.0)]
    assert sink.letters[0].reason == "gave up after 3 deliveries: RetryableError: timeout"


def _outage() -> RetryableError:
    try:
        raise nats.js.errors.NoStreamResponseError
    except nats.js.errors.NoStreamResponseError as exc:
        try:
            raise RetryableError("no ack from ACTIVITY") from exc
        except RetryableError as wrapped:
            return wrapped


async def test_a_broker_outage_is_given_more_deliveries_than_a_failing_handler() -> None:
    retry = RetryPolicy(max_deliveries=3, backoff_s=(0.5, 2.0), outage_deliveries=6)
    for attempt in (3, 5):
        delivery, sink = FakeDelivery(deliveries=attempt), FakeSink()
        await run_under_policy(
            delivery, _fails_with(_outage()), service="agent-runner", sink=sink, retry=retry
        )
        assert delivery.settled == [("nak", 2.0)] and not sink.letters

    delivery, sink = FakeDelivery(deliveries=6), FakeSink()
    await run_under_policy(delivery, _fails_with(_outage()), service="agent-runner", sink=sink, retry=retry)
    assert delivery.settled == [("term", 0.0)]
    assert sink.letters[0].reason == "gave up after 6 deliveries: RetryableError: no ack from ACTIVITY"


def test_only_an_error_from_the_broker_being_away_counts_as_an_outage() -> None:
    retry = RetryPolicy(max_deliveries=3, outage_deliveries=6)
    assert not retry.gives_up(3, _outage())
    assert retry.gives_up(3, RetryableError("the model said no"))
    assert retry.gives_up(3, KeyError("bug"))
    try:
        raise RetryableError("memory-writer did not answer") from TimeoutError()
    except RetryableError as timed_out:  # a timeout may be the message itself: the usual patience
        assert retry.gives_up(3, timed_out)
    assert not RetryPolicy(max_deliveries=3, outage_deliveries=1).gives_up(2, _outage())  # never fewer


def _fails_with(error: Exception) -> Callable[[bytes], Awaitable[None]]:
    async def work(data: bytes) -> None:
        raise error

    return work


async def test_a_dead_letter_that_cannot_be_stored_is_not_dropped() -> None:
    delivery, sink = FakeDelivery(), FakeSink(fail=True)
    await _run(delivery, sink, ContractError("bad"))
    assert delivery.settled == [("nak", 0.5)]


async def test_in_progress_acks_beat_while_the_work_runs() -> None:
    delivery = FakeDelivery()
    async with in_progress_acks(delivery, 0.01):
        await asyncio.sleep(0.08)
    beats = delivery.beats
    await asyncio.sleep(0.03)
    assert beats >= 3 and delivery.beats == beats  # and they stop with the work
