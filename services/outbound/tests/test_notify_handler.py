"""The notification handler with fake channels, store and dead letters: what is sent and recorded."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from animas_contracts import (
    DeadLetter,
    Event,
    HumanNotified,
    HumanNotifyFailed,
    HumanNotifyRequested,
    encode_event,
)
from animas_core.faults import FaultPoints
from animas_core.notify_records import ChannelOutcome
from animas_outbound.notify.adapters import Notification, PermanentSendError, RetryableSendError
from animas_outbound.notify.handler import (
    Channel,
    Channels,
    NotifyHandler,
    failed_id,
    idempotency_key,
    notified_id,
)
from animas_outbound.notify.records import repeat_of

T0 = datetime(2026, 2, 12, 9, 0, tzinfo=UTC)


class Sink:
    def __init__(self) -> None:
        self.events: list[Event] = []

    async def publish(self, event: Event) -> None:
        self.events.append(event)

    def of(self, cls: type[Event]) -> list[Event]:
        return [e for e in self.events if isinstance(e, cls)]


class Store:
    def __init__(self) -> None:
        self.outcomes: dict[tuple[str, str], ChannelOutcome] = {}
        self.first: dict[tuple[str, str], tuple[str, datetime]] = {}

    async def outcome(self, request_id: str, channel: str) -> ChannelOutcome | None:
        return self.outcomes.get((request_id, channel))

    async def record(self, outcome: ChannelOutcome) -> None:
        self.outcomes[(outcome.request_id, outcome.channel)] = outcome

    async def claim(self, anima: str, dedup_key: str, request_id: str, ts: datetime) -> str | None:
        first = self.first.setdefault((anima, dedup_key), (request_id, ts))
        earlier = repeat_of(first[0], first[1], request_id, ts)
        if earlier is None:
            self.first[(anima, dedup_key)] = (request_id, ts)
        return earlier


class Letters:
    def __init__(self) -> None:
        self.parked: dict[str, DeadLetter] = {}

    async def park(self, letter: DeadLetter, msg_id: str) -> None:
        self.parked[msg_id] = letter


class Adapter:
    """Fails with ``errors`` in turn, then delivers; records each key."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.keys: list[str] = []

    async def send(self, notification: Notification, idempotency_key: str) -> None:
        self.keys.append(idempotency_key)
        if self.errors:
            raise self.errors.pop(0)


@dataclasses.dataclass
class Delivery:
    data: bytes
    subject: str = "activity.0.sample.human.notify.requested"
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    deliveries: int = 1
    stream: str | None = "ACTIVITY"
    stream_seq: int | None = 7

    async def ack(self) -> None: ...
    async def nak(self, delay_s: float) -> None: ...
    async def term(self) -> None: ...
    async def in_progress(self) -> None: ...


def _request(ts: datetime = T0, key: str = "digest", rid: str = "req-1") -> HumanNotifyRequested:
    return HumanNotifyRequested(
        id=rid,
        anima="sample",
        correlation_id="c",
        producer="agent-runner",
        subject="Deploy blocked",
        body="Need approval",
        dedup_key=key,
        ts=ts,
    )


class Rig:
    def __init__(self, channels: Channels) -> None:
        self.sink, self.store, self.letters, self.sleeps = Sink(), Store(), Letters(), list[float]()

        async def sleep(delay: float) -> None:
            self.sleeps.append(delay)

        self.handler = NotifyHandler(
            publisher=self.sink,
            store=self.store,
            channels=lambda: channels,
            dead_letters=self.letters,
            faults=FaultPoints(""),
            service="outbound",
            attempts=3,
            backoff_s=0.5,
            sleep=sleep,
        )

    async def handle(self, request: HumanNotifyRequested) -> None:
        await self.handler(encode_event(request), Delivery(encode_event(request)))


async def test_every_channel_gets_it_once_with_its_own_key() -> None:
    ntfy, slack = Adapter(), Adapter()
    rig = Rig(Channels((Channel("ntfy", ntfy), Channel("slack", slack))))
    await rig.handle(_request())
    await rig.handle(_request())  # redelivered: both recorded, nothing sent again
    assert ntfy.keys == [idempotency_key("req-1", "ntfy")] and slack.keys == [
        idempotency_key("req-1", "slack")
    ]
    assert [e.id for e in rig.sink.events] == [notified_id("req-1", "ntfy"), notified_id("req-1", "slack")]
    assert {o.status for o in rig.store.outcomes.values()} == {"delivered"}


async def test_a_retryable_failure_is_retried_with_exponential_backoff() -> None:
    flaky = Adapter(RetryableSendError("HTTP 503"), RetryableSendError("HTTP 503"))
    rig = Rig(Channels((Channel("ntfy", flaky),)))
    await rig.handle(_request())
    (notified,) = rig.sink.of(HumanNotified)
    assert isinstance(notified, HumanNotified) and notified.attempts == 3
    assert rig.sleeps == [0.5, 1.0] and len(set(flaky.keys)) == 1


async def test_three_failures_dead_letter_and_record_the_failure_others_still_go() -> None:
    broken = Adapter(*(RetryableSendError("HTTP 500") for _ in range(3)))
    fine = Adapter()
    rig = Rig(Channels((Channel("hook", broken), Channel("ntfy", fine))))
    await rig.handle(_request())
    (failed,) = rig.sink.of(HumanNotifyFailed)
    assert isinstance(failed, HumanNotifyFailed)
    assert (failed.id, failed.channel, failed.attempts, failed.reason) == (
        failed_id("req-1", "hook"),
        "hook",
        3,
        "HTTP 500",
    )
    (letter,) = rig.letters.parked.values()
    assert "hook" in letter.reason and letter.stream_seq == 7
    assert rig.store.outcomes[("req-1", "hook")].status == "failed"
    assert fine.keys and rig.sink.of(HumanNotified)


async def test_a_permanent_failure_is_not_retried_and_an_unusable_channel_fails_at_once() -> None:
    rig = Rig(
        Channels(
            (Channel("chatwork", Adapter(PermanentSendError("HTTP 401"))), Channel("email", None, "no host"))
        )
    )
    await rig.handle(_request())
    failed = {e.channel: e for e in rig.sink.of(HumanNotifyFailed) if isinstance(e, HumanNotifyFailed)}
    assert (failed["chatwork"].attempts, failed["email"].attempts, failed["email"].reason) == (
        1,
        0,
        "no host",
    )
    assert rig.sleeps == [] and len(rig.letters.parked) == 2


async def test_the_same_notification_within_24_hours_is_sent_once() -> None:
    ntfy = Adapter()
    rig = Rig(Channels((Channel("ntfy", ntfy),)))
    await rig.handle(_request())
    await rig.handle(_request(T0 + timedelta(hours=23), rid="req-2"))
    await rig.handle(_request(T0 + timedelta(hours=25), rid="req-3"))
    assert len(ntfy.keys) == 2
    repeat = next(
        e for e in rig.sink.of(HumanNotified) if isinstance(e, HumanNotified) and e.request_id == "req-2"
    )
    assert repeat.duplicate_of == "req-1" and repeat.attempts == 0


@pytest.mark.parametrize("channels", [Channels((), "human notifications are not enabled"), Channels(())])
async def test_with_nowhere_to_go_the_request_fails_once(channels: Channels) -> None:
    rig = Rig(channels)
    await rig.handle(_request())
    (failed,) = rig.sink.events
    assert isinstance(failed, HumanNotifyFailed) and failed.channel == "none"
