"""Chat request validation and reply matching."""

from __future__ import annotations

import pytest

from animas_contracts import ResponseSent, encode_event
from animas_gateway.domain import BadRequest, ChatRequest, message_event, parse_chat_request
from animas_gateway.replies import REPLY_SUBJECT, EventWaiter, reply_key


def test_a_minimal_request_starts_a_thread_named_after_the_message() -> None:
    request = parse_chat_request(b'{"message": "hello"}', max_chars=100)
    event = message_event("sample", request)
    assert (event.text, event.sender, event.anima) == ("hello", "human", "sample")
    assert event.thread_id == event.id == event.correlation_id


def test_sender_and_thread_are_kept() -> None:
    event = message_event("sample", ChatRequest(message="hi", sender="tanaka", thread_id="t-1"))
    assert (event.sender, event.thread_id) == ("tanaka", "t-1")


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"", "not valid JSON"),
        (b"[1]", "Expected `object`"),
        (b'{"message": 1}', "Expected `str`"),
        (b'{"text": "hi"}', "unknown field `text`"),
        (b'{"message": "   "}', "must not be empty"),
        (b'{"message": "' + b"x" * 101 + b'"}', "longer than 100"),
        (b'{"message": "hi", "sender": ""}', "'sender' must be"),
    ],
)
def test_bad_requests_say_what_is_wrong(body: bytes, problem: str) -> None:
    with pytest.raises(BadRequest, match=problem.replace("[", r"\[")):
        parse_chat_request(body, max_chars=100)


async def test_a_reply_resolves_only_the_request_it_answers() -> None:
    waiter = EventWaiter(REPLY_SUBJECT, reply_key)
    mine, other = waiter.expect("m1"), waiter.expect("m2")
    reply = ResponseSent(
        anima="sample",
        correlation_id="m1",
        producer="agent-runner",
        text="hi",
        in_reply_to="m1",
        to="human",
        thread_id="m1",
    )

    class Msg:
        subject = "activity.sample.response.sent"
        data = encode_event(reply)

    await waiter._on_event(Msg())  # type: ignore[arg-type]
    assert mine.done() and mine.result() == reply
    assert not other.done()
