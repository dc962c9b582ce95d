"""The request handler with fakes for its ports: given a delivery, which events come out."""

from __future__ import annotations

import dataclasses

import pytest

from animas_contracts import (
    AnimaSummary,
    ContractError,
    Event,
    MessageReceived,
    OutboundKind,
    OutboundRequested,
    encode_event,
)
from animas_core.errors import PoisonMessage, RetryableError
from animas_core.faults import FaultPoints
from animas_core.provenance import SubjectMismatch
from animas_outbound import domain
from animas_outbound.handlers import OutboundHandler


class FakeSink:
    def __init__(self) -> None:
        self.events: list[Event] = []

    async def publish(self, event: Event) -> None:
        self.events.append(event)

    def types(self) -> list[str]:
        return [e.event_type for e in self.events]


class FakeDirectory:
    def __init__(self, *animas: AnimaSummary, answers: bool = True) -> None:
        self.list = list(animas)
        self.answers = answers
        self.asked = 0

    async def animas(self) -> list[AnimaSummary]:
        self.asked += 1
        if not self.answers:
            raise RetryableError("memory-writer did not answer")
        return self.list


class FakeStream:
    """The ids stored after the request, and every question asked about them."""

    def __init__(self, *stored: str) -> None:
        self.stored = set(stored)
        self.asked: list[tuple[str, str, int]] = []

    async def __call__(self, event: Event, after_seq: int) -> bool:
        self.asked.append((event.anima, event.event_type, after_seq))
        return event.id in self.stored


@dataclasses.dataclass
class FakeDelivery:
    data: bytes = b""
    subject: str = "activity.0.alice.outbound.requested"
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    deliveries: int = 1
    stream: str | None = "ACTIVITY"
    stream_seq: int | None = 41

    async def ack(self) -> None: ...
    async def nak(self, delay_s: float) -> None: ...
    async def term(self) -> None: ...
    async def in_progress(self) -> None: ...


def _request(
    kind: OutboundKind = OutboundKind.MESSAGE, to: str = "bob", anima: str = "alice"
) -> OutboundRequested:
    return OutboundRequested(
        anima=anima,
        correlation_id="c",
        producer="agent-runner",
        kind=kind,
        to=to,
        text="hello",
        thread_id="t",
    )


class FakeLog:
    def __init__(self) -> None:
        self.outcomes: dict[str, str] = {}

    async def settled(self, request_id: str) -> bool:
        return request_id in self.outcomes

    async def record(self, request_id: str, outcome: str) -> None:
        self.outcomes[request_id] = outcome


BOTH = (AnimaSummary(name="alice", enabled=True), AnimaSummary(name="bob", enabled=True))


async def _handle(
    request: OutboundRequested | bytes,
    *,
    directory: FakeDirectory | None = None,
    stream: FakeStream | None = None,
    deliveries: int = 1,
    log: FakeLog | None = None,
    subject: str | None = None,
) -> tuple[FakeSink, FakeDirectory, FakeStream]:
    sink, directory, stream = FakeSink(), directory or FakeDirectory(*BOTH), stream or FakeStream()
    handler = OutboundHandler(
        publisher=sink, directory=directory, stored=stream, log=log or FakeLog(), faults=FaultPoints("")
    )
    data = request if isinstance(request, bytes) else encode_event(request)
    await handler(
        data, FakeDelivery(data=data, subject=subject or FakeDelivery.subject, deliveries=deliveries)
    )
    return sink, directory, stream


async def test_a_message_is_delivered_then_recorded_without_asking_the_stream() -> None:
    request = _request()
    sink, directory, stream = await _handle(request)
    assert sink.types() == ["message.received", "outbound.delivered"]
    assert [e.id for e in sink.events] == [domain.delivery_id(request.id), domain.delivered_id(request.id)]
    assert isinstance(sink.events[0], MessageReceived) and sink.events[0].anima == "bob"
    assert directory.asked == 1 and stream.asked == []


async def test_a_channel_post_asks_nobody_who_exists() -> None:
    sink, directory, _ = await _handle(_request(OutboundKind.CHANNEL, "general"))
    assert sink.types() == ["channel.posted", "outbound.delivered"]
    assert directory.asked == 0


async def test_an_unknown_recipient_gets_nothing_and_the_sender_is_told() -> None:
    sink, _, _ = await _handle(_request(to="carol"))
    assert sink.types() == ["outbound.failed"]
    assert sink.events[0].anima == "alice"


async def test_a_message_to_oneself_fails_without_asking_memory_writer() -> None:
    sink, directory, _ = await _handle(_request(to="alice"))
    assert sink.types() == ["outbound.failed"] and directory.asked == 0


async def test_a_silent_memory_writer_is_retried_never_a_failure() -> None:
    with pytest.raises(RetryableError):
        await _handle(_request(), directory=FakeDirectory(answers=False))


async def test_a_redelivery_after_a_complete_delivery_publishes_nothing() -> None:
    request = _request()
    stream = FakeStream(domain.delivery_id(request.id), domain.delivered_id(request.id))
    sink, directory, _ = await _handle(request, stream=stream, deliveries=2)
    assert sink.events == [] and directory.asked == 0
    assert stream.asked == [("bob", "message.received", 41), ("alice", "outbound.delivered", 41)]


async def test_a_redelivery_after_a_crash_between_delivery_and_record_only_records() -> None:
    request = _request()
    sink, _, _ = await _handle(request, stream=FakeStream(domain.delivery_id(request.id)), deliveries=2)
    assert sink.types() == ["outbound.delivered"]


async def test_a_redelivery_of_an_undelivered_request_delivers() -> None:
    sink, directory, _ = await _handle(_request(), deliveries=3)
    assert sink.types() == ["message.received", "outbound.delivered"] and directory.asked == 1


async def test_a_redelivery_of_a_recorded_failure_records_nothing_more() -> None:
    request = _request(to="carol")
    sink, _, _ = await _handle(request, stream=FakeStream(domain.failed_id(request.id)), deliveries=2)
    assert sink.events == []


async def test_garbage_is_a_contract_error() -> None:
    with pytest.raises(ContractError):
        await _handle(b"{not json")


async def test_another_event_type_is_a_contract_error() -> None:
    other = MessageReceived(
        anima="bob", correlation_id="c", producer="gateway", text="x", sender="h", thread_id="t"
    )
    with pytest.raises(ContractError, match=r"expected outbound\.requested"):
        await _handle(encode_event(other), subject="activity.0.bob.message.received")
    with pytest.raises(SubjectMismatch, match=r"payload type 'message\.received'"):
        await _handle(encode_event(other), subject="activity.0.bob.outbound.requested")


async def test_an_invalid_sender_is_poison() -> None:
    with pytest.raises(PoisonMessage, match="invalid sender"):
        await _handle(_request(anima="Not_Valid"), subject="activity.0.Not_Valid.outbound.requested")


async def test_a_request_naming_another_sender_than_its_subject_is_refused() -> None:
    with pytest.raises(SubjectMismatch, match="payload anima 'bob'"):
        await _handle(_request(anima="bob"))


async def test_a_settled_request_stored_again_later_is_not_sent_again() -> None:
    log = FakeLog()
    request = _request()
    first, _, _ = await _handle(request, log=log)
    again, _, _ = await _handle(request, log=log)  # a first delivery of a second stored copy
    assert first.types() == ["message.received", "outbound.delivered"] and again.types() == []
    assert log.outcomes == {request.id: "delivered"}
    refused = _request(to="nobody")
    await _handle(refused, log=log)
    assert log.outcomes[refused.id] == "failed"
