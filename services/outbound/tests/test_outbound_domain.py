"""Given a request (and who exists), which events outbound emits."""

from __future__ import annotations

import pytest

from animas_contracts import (
    AnimaSummary,
    ChannelPosted,
    InvalidAnimaName,
    MessageOrigin,
    MessageReceived,
    OutboundKind,
    OutboundRequested,
    decode_event,
    encode_event,
)
from animas_outbound import domain


def _request(
    kind: OutboundKind = OutboundKind.MESSAGE,
    to: str = "bob",
    *,
    reply_to: str | None = None,
    attachments: list[str] | None = None,
) -> OutboundRequested:
    return OutboundRequested(
        anima="alice",
        correlation_id="conversation-1",
        causation_id="cycle-7",
        producer="agent-runner",
        kind=kind,
        to=to,
        text="The report is ready.",
        thread_id="thread-9",
        reply_to=reply_to,
        cycle_id="cycle-7",
        attachments=attachments or [],
    )


ANIMAS = [AnimaSummary(name="alice", enabled=True), AnimaSummary(name="bob", enabled=True)]


def test_effect_ids_are_derived_from_the_request_and_distinct() -> None:
    request = _request()
    ids = {domain.delivery_id(request.id), domain.delivered_id(request.id), domain.failed_id(request.id)}
    assert len(ids) == 3 and request.id not in ids
    assert domain.delivery_id(request.id) == domain.delivery_id(request.id)
    assert domain.delivery_id(request.id) != domain.delivery_id(_request().id)


def test_a_message_becomes_the_recipients_message_in_the_same_thread_and_conversation() -> None:
    request = _request(reply_to="message-3", attachments=["sha256:abc"])
    message = domain.delivery(request)
    assert isinstance(message, MessageReceived)
    assert message.id == domain.delivery_id(request.id)
    assert (message.anima, message.sender, message.origin) == ("bob", "alice", MessageOrigin.ANIMA)
    assert (message.text, message.thread_id, message.reply_to) == (request.text, "thread-9", "message-3")
    assert message.attachments == ["sha256:abc"]
    assert (message.correlation_id, message.causation_id) == ("conversation-1", request.id)
    assert message.producer == "outbound"


def test_the_delivered_record_goes_to_the_sender_and_names_the_delivery() -> None:
    request = _request()
    record = domain.delivered(request)
    assert (record.anima, record.to, record.kind) == ("alice", "bob", OutboundKind.MESSAGE)
    assert (record.id, record.request_id) == (domain.delivered_id(request.id), request.id)
    assert record.delivered_id == domain.delivery(request).id
    assert (record.correlation_id, record.causation_id) == ("conversation-1", request.id)


def test_a_channel_post_is_recorded_on_the_posters_subject() -> None:
    request = _request(OutboundKind.CHANNEL, "general")
    post = domain.delivery(request)
    assert isinstance(post, ChannelPosted)
    assert (post.anima, post.channel, post.thread_id) == ("alice", "general", "thread-9")
    assert (post.id, post.request_id, post.causation_id) == (
        domain.delivery_id(request.id),
        request.id,
        request.id,
    )
    assert not domain.needs_recipient(request)
    assert domain.refusal(request) is None


def test_every_emitted_event_survives_the_wire() -> None:
    request = _request(reply_to="m-1")
    for event in (domain.delivery(request), domain.delivered(request), domain.failed(request, "why")):
        assert decode_event(encode_event(event)) == event


def test_a_deliverable_message_needs_a_recipient_that_exists_and_is_enabled() -> None:
    request = _request()
    assert domain.needs_recipient(request)
    assert domain.refusal(request) is None
    assert domain.recipient_refusal("bob", ANIMAS) is None


def test_an_unknown_recipient_is_refused() -> None:
    reason = domain.recipient_refusal("carol", ANIMAS)
    assert reason is not None and "no anima named 'carol'" in reason


def test_a_disabled_recipient_is_refused() -> None:
    reason = domain.recipient_refusal("bob", [AnimaSummary(name="bob", enabled=False)])
    assert reason is not None and "disabled" in reason


def test_a_message_to_oneself_is_refused() -> None:
    reason = domain.refusal(_request(to="alice"))
    assert reason is not None and "itself" in reason


def test_a_request_to_post_outside_is_refused() -> None:
    """Only an answer to a message from outside goes back outside (never a request a tool makes)."""
    reason = domain.refusal(_request(OutboundKind.EXTERNAL, "slack-main"))
    assert reason is not None and "outside platform" in reason
    with pytest.raises(ValueError, match="not a request"):
        domain.delivery(_request(OutboundKind.EXTERNAL, "slack-main"))


@pytest.mark.parametrize("name", ["Bob", "bob.smith", "a*", "", "x" * 65, "1st"])
def test_an_invalid_recipient_name_is_refused_without_asking_anyone(name: str) -> None:
    reason = domain.refusal(_request(to=name))
    assert reason is not None and "not a valid anima name" in reason


@pytest.mark.parametrize("name", ["General", "dev.ops", "team>", ""])
def test_an_invalid_channel_name_is_refused(name: str) -> None:
    reason = domain.refusal(_request(OutboundKind.CHANNEL, name))
    assert reason is not None and "not a valid channel name" in reason
    with pytest.raises(InvalidAnimaName):
        domain.validate_channel_name(name)


def test_the_failed_record_carries_the_reason_to_the_sender() -> None:
    request = _request(to="carol")
    record = domain.failed(request, "there is no anima named 'carol'")
    assert (record.anima, record.to, record.reason) == ("alice", "carol", "there is no anima named 'carol'")
    assert (record.id, record.request_id, record.causation_id) == (
        domain.failed_id(request.id),
        request.id,
        request.id,
    )
