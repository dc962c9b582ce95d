"""Chat request validation and reply matching."""

from __future__ import annotations

import re

import pytest

from animas_contracts import ResponseSent, encode_event
from animas_core.api_config import ApiConfig
from animas_gateway.domain import (
    BadRequest,
    ChatRequest,
    idempotency_key,
    ingress_message_id,
    message_event,
    parse_chat_request,
    same_message,
)
from animas_gateway.replies import REPLY_SUBJECT, EventWaiter, reply_key

LIMITS = ApiConfig(max_message_chars=100, max_thread_id_chars=20)


def test_a_request_without_a_thread_continues_the_person_s_running_conversation() -> None:
    request = parse_chat_request(b'{"message": "hello"}', LIMITS)
    event = message_event("sample", request)
    assert (event.text, event.sender, event.anima) == ("hello", "human", "sample")
    assert event.id == event.correlation_id and event.thread_id == "dm:human"
    later = message_event("sample", ChatRequest(message="and then?"))
    assert later.thread_id == event.thread_id and later.id != event.id
    odd = message_event("sample", ChatRequest(message="hi", sender="Dr. Tanaka (ops)"))
    assert odd.thread_id == "dm:Dr.-Tanaka--ops-"  # a valid thread id whatever the sender says


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
        (b'{"message": "hi", "sender": ""}', "'sender' must not be empty"),
        (b'{"message": "hi", "sender": "eve\\n## Injected"}', "'sender' must be one line"),
        (b'{"message": "hi", "sender": "' + b"s" * 201 + b'"}', "'sender' is longer than 200"),
        (b'{"message": "a\\u0000b"}', "'message' has the control character U+0000"),
        (b'{"message": "hi", "thread_id": "' + b"t" * 21 + b'"}', "'thread_id' is longer than 20"),
        (b'{"message": "hi", "thread_id": "../../etc"}', "'thread_id' may hold only"),
        (b'{"message": "hi", "thread_id": 5}', "Expected `str | null`"),
        (b'{"message": "hi", "client_message_id": "a b"}', "'client_message_id' must be 1 to 128"),
        (b'{"message": "hi", "client_message_id": ""}', "'client_message_id' must be 1 to 128"),
    ],
)
def test_bad_requests_say_what_is_wrong(body: bytes, problem: str) -> None:
    with pytest.raises(BadRequest, match=re.escape(problem)):
        parse_chat_request(body, LIMITS)


def test_a_message_keeps_line_breaks_and_tabs() -> None:
    request = parse_chat_request(b'{"message": "line 1\\r\\nline 2\\n\\tindented"}', LIMITS)
    assert request.message == "line 1\r\nline 2\n\tindented"


def test_a_key_makes_the_message_id_the_same_on_every_retry_and_distinct_per_anima() -> None:
    request = ChatRequest(message="hi")
    first, retry = message_event("sample", request, "key-1"), message_event("sample", request, "key-1")
    assert first.id == retry.id == ingress_message_id("sample", "key-1")
    assert message_event("other", request, "key-1").id != first.id
    assert message_event("sample", request, "key-2").id != first.id
    assert message_event("sample", request).id != message_event("sample", request).id  # no key: fresh ids
    assert same_message(first, retry)
    assert not same_message(first, message_event("sample", ChatRequest(message="other words"), "key-1"))


def test_the_key_comes_from_the_header_or_the_body_and_both_must_agree() -> None:
    assert idempotency_key("k1", ChatRequest(message="hi")) == "k1"
    assert idempotency_key(None, ChatRequest(message="hi", client_message_id="k2")) == "k2"
    assert idempotency_key("k3", ChatRequest(message="hi", client_message_id="k3")) == "k3"
    assert idempotency_key(None, ChatRequest(message="hi")) is None
    with pytest.raises(BadRequest, match="differ"):
        idempotency_key("k1", ChatRequest(message="hi", client_message_id="k2"))
    with pytest.raises(BadRequest, match="longer than 128"):
        idempotency_key("k" * 129, ChatRequest(message="hi"))
    with pytest.raises(BadRequest, match="must be 1 to 128"):
        idempotency_key("new\nline", ChatRequest(message="hi"))


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
