"""Answers to people outside (#17 item 2): where they go, the platform adapters against local fakes
over real HTTP (Slack through slack-sdk), and the handler's once-only posting, retries and records.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from animas_contracts import (
    DeadLetter,
    Event,
    MessageKind,
    OutboundDelivered,
    OutboundFailed,
    OutboundKind,
    ResponseSent,
    encode_event,
)
from animas_core.config import WebhookSource
from animas_core.faults import FaultPoints
from animas_outbound.notify.adapters import PermanentSendError, RetryableSendError
from animas_outbound.replies.handler import ExternalReplies, delivered_id, failed_id, reply_key
from animas_outbound.replies.platforms import ReplyPoster
from animas_outbound.replies.targets import (
    CallbackTarget,
    ChatworkTarget,
    SlackTarget,
    Unroutable,
    reply_target,
)
from animas_tools.fake_receivers import FakeReceiver, free_port
from animas_tools.fake_slack import FakeSlack

BOT_TOKEN = "xoxb-test-bot-token-8d1f"
CW_TOKEN = "cw-api-token-3e77"
THREAD = "slack:C0LAN2Q65:1765000000.000100"


def _answer(
    source: str | None = "slack-main", thread: str = THREAD, anima: str = "sample", rid: str = "answer-1"
) -> ResponseSent:
    return ResponseSent(
        id=rid,
        anima=anima,
        correlation_id="msg-1",
        causation_id="cycle-1",
        producer="agent-runner",
        text="Two incidents were open yesterday.",
        in_reply_to="msg-1",
        to="slack:U0E2E",
        thread_id=thread,
        source=source,
    )


def _sources(base: str = "http://127.0.0.1:9/api/", **overrides: Any) -> dict[str, WebhookSource]:
    slack: dict[str, Any] = {"kind": "slack", "anima": "sample", "secrets": ["s"], "token": BOT_TOKEN,
                             "api_base_url": base, **overrides}  # fmt: skip
    return {
        "slack-main": WebhookSource.model_validate(slack),
        "cw": WebhookSource.model_validate(
            {
                "kind": "chatwork",
                "anima": "sample",
                "secrets": ["c2VjcmV0"],
                "token": CW_TOKEN,
                "account_id": 1484814,
            }
        ),
        "ci": WebhookSource.model_validate(
            {
                "kind": "generic",
                "anima": "sample",
                "secrets": ["old", "new"],
                "callback_url": "http://127.0.0.1:9/cb",
            }
        ),
    }


# Where an answer goes ---------------------------------------------------------------------------


def test_each_kind_of_source_routes_its_answer_to_the_thread_it_came_from() -> None:
    sources = _sources("http://127.0.0.1:9/api")
    assert reply_target(_answer(), sources) == SlackTarget(
        base_url="http://127.0.0.1:9/api/",
        token=BOT_TOKEN,
        channel="C0LAN2Q65",
        thread_ts="1765000000.000100",
    )
    assert reply_target(_answer("cw", "chatwork:42"), sources) == ChatworkTarget(
        base_url="https://api.chatwork.com/v2", token=CW_TOKEN, room="42"
    )
    generic = reply_target(_answer("ci", "webhook:ci:deploy-7"), sources)
    # Signed with the newest secret when no callback_secret is set.
    assert generic == CallbackTarget(
        url="http://127.0.0.1:9/cb", key="new", source="ci", thread_id="deploy-7", to="slack:U0E2E"
    )


@pytest.mark.parametrize(
    ("answer", "overrides", "why"),
    [
        (_answer("gone"), {}, "not configured"),
        (_answer(), {"enabled": False}, "not configured"),
        (_answer(anima="other"), {}, "belongs to anima 'sample'"),
        (_answer(), {"token": None}, "no token"),
        (_answer(thread="chatwork:42"), {}, "not a Slack thread"),
        (_answer(thread="slack:C1"), {}, "not a Slack thread"),
        (_answer("cw", "slack:C1:1.2"), {}, "not a Chatwork room"),
        (_answer("ci", "webhook:other:x"), {}, "not a thread of webhook source 'ci'"),
    ],
)
def test_an_answer_with_nowhere_to_go_is_unroutable(
    answer: ResponseSent, overrides: dict[str, Any], why: str
) -> None:
    with pytest.raises(Unroutable, match=why) as caught:
        reply_target(answer, _sources(**overrides))
    assert BOT_TOKEN not in str(caught.value)


# The platforms over real HTTP -------------------------------------------------------------------


@pytest.fixture
async def poster() -> AsyncIterator[ReplyPoster]:
    async with httpx.AsyncClient(timeout=5.0) as client:
        yield ReplyPoster(client, timeout_s=5.0, clock=lambda: 1765000000.0)


def _slack_target(fake: FakeSlack, token: str = BOT_TOKEN) -> SlackTarget:
    return SlackTarget(base_url=fake.api_url, token=token, channel="C0LAN2Q65", thread_ts="1765000000.000100")


async def test_slack_gets_chat_post_message_in_the_thread_through_the_sdk(poster: ReplyPoster) -> None:
    with FakeSlack(BOT_TOKEN) as slack:
        posted = await poster.post(_slack_target(slack), "Two incidents 二つ.", "key-1")
    (got,) = slack.posted
    assert (got.channel, got.thread_ts, got.text) == ("C0LAN2Q65", "1765000000.000100", "Two incidents 二つ.")
    assert posted == got.ts
    assert [method for method, _ in slack.calls] == ["chat.postMessage"]


async def test_slack_errors_are_retryable_or_permanent_and_never_show_the_token(poster: ReplyPoster) -> None:
    with FakeSlack(BOT_TOKEN, failures=[(429, "ratelimited"), (200, "internal_error")]) as slack:
        for _ in range(2):
            with pytest.raises(RetryableSendError):
                await poster.post(_slack_target(slack), "hi", "k")
        with pytest.raises(PermanentSendError, match="invalid_auth") as wrong:
            await poster.post(_slack_target(slack, token="xoxb-wrong"), "hi", "k")
        with pytest.raises(PermanentSendError, match="channel_not_found"):
            await poster.post(dataclasses.replace(_slack_target(slack), channel=""), "hi", "k")
    assert slack.posted == [] and "xoxb-wrong" not in str(wrong.value)
    closed = SlackTarget(
        base_url=f"http://127.0.0.1:{free_port()}/api/", token=BOT_TOKEN, channel="C", thread_ts="1"
    )
    with pytest.raises(RetryableSendError) as refused:
        await poster.post(closed, "hi", "k")
    assert BOT_TOKEN not in str(refused.value)


async def test_chatwork_gets_the_message_in_the_room_with_the_token(poster: ReplyPoster) -> None:
    with FakeReceiver([500, 403]) as chatwork:
        target = ChatworkTarget(base_url=chatwork.url + "/v2", token=CW_TOKEN, room="42")
        with pytest.raises(RetryableSendError):
            await poster.post(target, "hi", "k")
        with pytest.raises(PermanentSendError, match="HTTP 403") as refused:
            await poster.post(target, "hi", "k")
        await poster.post(target, "Two incidents.", "k")
    got = chatwork.received[-1]
    assert got.path == "/v2/rooms/42/messages" and got.headers["X-ChatWorkToken"] == CW_TOKEN
    assert parse_qs(got.body.decode()) == {"body": ["Two incidents."]}
    assert CW_TOKEN not in str(refused.value)


async def test_a_generic_callback_is_signed_like_the_ingress_and_carries_the_key(poster: ReplyPoster) -> None:
    with FakeReceiver() as receiver:
        target = CallbackTarget(
            url=receiver.url + "/cb", key="cb-key", source="ci", thread_id="deploy-7", to="x"
        )
        await poster.post(target, "Deployed.", "key-9")
    (got,) = receiver.received
    ts = got.headers["X-Animaworks-Timestamp"]
    expected = hmac.new(b"cb-key", ts.encode() + b"." + got.body, hashlib.sha256).hexdigest()
    assert ts == "1765000000" and got.headers["X-Animaworks-Signature"] == f"sha256={expected}"
    assert got.headers["Idempotency-Key"] == "key-9"
    assert json.loads(got.body) == {"id": "key-9", "source": "ci", "thread_id": "deploy-7", "to": "x",
                                    "text": "Deployed."}  # fmt: skip


# The handler ------------------------------------------------------------------------------------


class Sink:
    def __init__(self) -> None:
        self.events: list[Event] = []

    async def publish(self, event: Event) -> None:
        self.events.append(event)


class Log:
    def __init__(self) -> None:
        self.entries: dict[str, str] = {}

    async def settled(self, request_id: str) -> bool:
        return request_id in self.entries

    async def record(self, request_id: str, outcome: str) -> None:
        self.entries[request_id] = outcome


class Letters:
    def __init__(self) -> None:
        self.parked: dict[str, DeadLetter] = {}

    async def park(self, letter: DeadLetter, msg_id: str) -> None:
        self.parked[msg_id] = letter


@dataclasses.dataclass
class Delivery:
    data: bytes
    subject: str = "activity.0.sample.response.sent"
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    deliveries: int = 1
    stream: str | None = "ACTIVITY"
    stream_seq: int | None = 7

    async def ack(self) -> None: ...
    async def nak(self, delay_s: float) -> None: ...
    async def term(self) -> None: ...
    async def in_progress(self) -> None: ...


class Rig:
    def __init__(self, sources: dict[str, WebhookSource], poster: ReplyPoster, attempts: int = 3) -> None:
        self.sink, self.log, self.letters, self.sleeps = Sink(), Log(), Letters(), list[float]()
        self.stored: set[str] = set()

        async def sleep(delay: float) -> None:
            self.sleeps.append(delay)

        async def stored(event: Event, after_seq: int) -> bool:
            return event.id in self.stored

        self.handler = ExternalReplies(
            publisher=self.sink,
            sources=lambda: sources,
            poster=poster,
            log=self.log,
            stored=stored,
            dead_letters=self.letters,
            faults=FaultPoints(""),
            service="outbound",
            attempts=attempts,
            backoff_s=1.0,
            sleep=sleep,
        )

    async def deliver(self, answer: ResponseSent, deliveries: int = 1) -> None:
        await self.handler(encode_event(answer), Delivery(encode_event(answer), deliveries=deliveries))


async def test_an_answer_is_posted_once_and_recorded_whatever_repeats(
    poster: ReplyPoster, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with FakeSlack(BOT_TOKEN) as slack:
        rig = Rig(_sources(slack.api_url), poster)
        await rig.deliver(_answer())
        await rig.deliver(_answer(), deliveries=2)  # the broker's redelivery
        await rig.deliver(_answer())  # the same answer stored again later
        (delivered,) = rig.sink.events
        # A redelivery whose earlier attempt was recorded in the stream, but not in the log.
        fresh = Rig(_sources(slack.api_url), poster)
        fresh.stored.add(delivered.id)
        await fresh.deliver(_answer(), deliveries=2)
    assert len(slack.posted) == 1 and slack.posted[0].thread_ts == "1765000000.000100"
    assert isinstance(delivered, OutboundDelivered) and delivered.id == delivered_id("answer-1")
    assert (delivered.kind, delivered.to, delivered.thread_id) == (
        OutboundKind.EXTERNAL,
        "slack-main",
        THREAD,
    )
    assert (delivered.anima, delivered.request_id, delivered.intent) == (
        "sample",
        "answer-1",
        MessageKind.REPLY,
    )
    assert delivered.delivered_id == slack.posted[0].ts
    assert rig.log.entries == {reply_key("answer-1"): "delivered"}
    assert fresh.sink.events == [] and fresh.log.entries == {reply_key("answer-1"): "settled"}
    assert BOT_TOKEN not in caplog.text


async def test_an_answer_to_a_person_in_the_web_chat_or_to_an_anima_is_not_posted(
    poster: ReplyPoster,
) -> None:
    with FakeSlack(BOT_TOKEN) as slack:
        rig = Rig(_sources(slack.api_url), poster)
        await rig.deliver(_answer(source=None))
    assert slack.calls == [] and rig.sink.events == [] and rig.log.entries == {}


async def test_a_rate_limited_post_is_retried_with_backoff(poster: ReplyPoster) -> None:
    with FakeSlack(BOT_TOKEN, failures=[(429, "ratelimited"), (503, "service_unavailable")]) as slack:
        rig = Rig(_sources(slack.api_url), poster)
        await rig.deliver(_answer())
    assert len(slack.calls) == 3 and len(slack.posted) == 1
    assert rig.sleeps == [1.0, 2.0]
    assert [type(e) for e in rig.sink.events] == [OutboundDelivered]


async def test_a_post_that_keeps_failing_is_recorded_failed_and_dead_lettered(poster: ReplyPoster) -> None:
    with FakeSlack(BOT_TOKEN, failures=[(500, "internal_error")] * 3 + [(200, "channel_not_found")]) as slack:
        rig = Rig(_sources(slack.api_url), poster)
        await rig.deliver(_answer())
        permanent = Rig(_sources(slack.api_url), poster)
        await permanent.deliver(_answer(rid="answer-2"))
    (failed,) = rig.sink.events
    assert isinstance(failed, OutboundFailed) and failed.id == failed_id("answer-1")
    assert failed.kind is OutboundKind.EXTERNAL and "after 3 attempts" in failed.reason
    assert list(rig.log.entries.values()) == ["failed"] and len(rig.letters.parked) == 1
    (letter,) = rig.letters.parked.values()
    assert letter.subject == "activity.0.sample.response.sent" and "slack-main" in letter.reason
    assert BOT_TOKEN not in letter.reason
    (stopped,) = permanent.sink.events
    assert isinstance(stopped, OutboundFailed) and "channel_not_found" in stopped.reason
    assert "after 1 attempt)" in stopped.reason and permanent.sleeps == []
    assert slack.posted == []


async def test_an_unroutable_answer_fails_at_once_without_a_post(poster: ReplyPoster) -> None:
    with FakeSlack(BOT_TOKEN) as slack:
        rig = Rig(_sources(slack.api_url, token=None), poster)
        await rig.deliver(_answer())
    assert slack.calls == []
    (failed,) = rig.sink.events
    assert isinstance(failed, OutboundFailed) and "no token" in failed.reason
    assert len(rig.letters.parked) == 1
