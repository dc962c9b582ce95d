"""A Slack event through `anima up` (#17 items 1 and 2): one signed event, retried three times,
starts one cycle whose model request labels the message untrusted, and its answer is posted once
to the (fake) Slack Web API in the message's thread; a forged one is 401 and recorded; neither the
signing secret nor the bot token is in any log. Then the same through Slack Socket Mode (#17
acceptance 2): the gateway connects to a local fake Socket Mode server, an event sent there (and
retried) is one cycle, and its answer is posted once in its thread. One system for the module.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

import httpx
import pytest
from nats.aio.client import Client
from tests.conftest import RunningSystem, scripted_config, start_system
from tests.model_requests import since_last_user

from animas_contracts import (
    CycleStarted,
    Event,
    MessageReceived,
    OutboundDelivered,
    OutboundKind,
    ResponseSent,
    WebhookRejected,
)
from animas_core.clock import system_clock
from animas_gateway.webhook_signatures import slack_signature
from animas_tools.events import read_activity
from animas_tools.fake_slack import FakeSlack, FakeSlackSocket
from animas_tools.scripted_llm import ScriptedLLM, Turn

pytestmark = [pytest.mark.e2e, pytest.mark.nats, pytest.mark.slow]

T = TypeVar("T")
SIGNING_SECRET = "e2e-slack-signing-secret-5f2a9c"
BOT_TOKEN = "xoxb-e2e-bot-token-71c4d0"
APP_TOKEN = "xapp-1-e2e-app-token-93be1f"
SOCKET_BOT_TOKEN = "xoxb-e2e-socket-bot-token-40aa7e"
ANSWER = "Two incidents were open yesterday."
QUESTION = "Which incidents were open yesterday?"


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM() as server:
        yield server


@pytest.fixture(scope="module")
def slack() -> Iterator[FakeSlack]:
    with FakeSlack(BOT_TOKEN) as fake:
        yield fake


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    running = start_system(tmp_path_factory.mktemp("webhooks") / "home")
    try:
        yield running
    finally:
        running.stop()


def _events(system: RunningSystem) -> list[Event]:
    async def read(nc: Client) -> list[Event]:
        return [s.event async for s in read_activity(nc.jetstream(), anima="sample") if s.event is not None]

    return system.admin(read)


def _wait(what: str, probe: Callable[[], T | None], timeout_s: float = 60.0) -> T:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def _signed(body: bytes, secret: str = SIGNING_SECRET, **extra: str) -> dict[str, str]:
    ts = str(int(system_clock().timestamp()))
    return {
        "content-type": "application/json",
        "x-slack-request-timestamp": ts,
        "x-slack-signature": slack_signature(secret, ts, body),
        **extra,
    }


def test_a_slack_event_retried_three_times_is_one_cycle_labelled_untrusted_answered_once_in_its_thread(
    system: RunningSystem, llm: ScriptedLLM, slack: FakeSlack
) -> None:
    config = scripted_config(llm)
    source = {"kind": "slack", "anima": "sample", "secrets": [SIGNING_SECRET], "token": BOT_TOKEN,
              "api_base_url": slack.api_url}  # fmt: skip
    config["webhooks"] = {"sources": {"slack-main": source}}
    system.configure(config)
    llm.load([Turn(match=QUESTION, text=ANSWER)])
    event = {
        "type": "event_callback",
        "event_id": "Ev0E2E",
        "event": {"type": "app_mention", "user": "U0E2E", "text": f"<@U0BOT> {QUESTION}", "channel": "C0E2E",
                  "ts": "1765000000.000100"},
    }  # fmt: skip
    body = json.dumps(event).encode()
    url = f"{system.url}/api/webhooks/slack-main"
    first = httpx.post(url, content=body, headers=_signed(body), timeout=30)
    assert first.status_code == 202, first.text
    message_id = first.json()["event_id"]
    for attempt in (1, 2, 3):
        retry = httpx.post(url, content=body, headers=_signed(body, **{"x-slack-retry-num": str(attempt)}))
        assert retry.status_code == 202 and retry.json()["event_id"] == message_id
    forged = httpx.post(url, content=body, headers=_signed(body, secret="a guess"), timeout=30)
    assert forged.status_code == 401

    def posted() -> list[Event] | None:
        events = _events(system)
        done = any(isinstance(e, OutboundDelivered) and e.kind is OutboundKind.EXTERNAL for e in events)
        return events if done else None

    events = _wait("the answer posted to Slack", posted)
    (answer,) = [e for e in events if isinstance(e, ResponseSent) and e.in_reply_to == message_id]
    assert answer.source == "slack-main"
    (delivered,) = [e for e in events if isinstance(e, OutboundDelivered)]
    assert (delivered.request_id, delivered.to) == (answer.id, "slack-main")
    # Once, in the thread of the message, through chat.postMessage with the bot token.
    (post,) = slack.posted
    assert (post.channel, post.thread_ts, post.text) == ("C0E2E", "1765000000.000100", ANSWER)
    assert delivered.delivered_id == post.ts
    assert [e.id for e in events if isinstance(e, MessageReceived)] == [message_id]
    assert len([e for e in events if isinstance(e, CycleStarted) and e.causation_id == message_id]) == 1
    assert [e.reason for e in events if isinstance(e, WebhookRejected)] == ["bad_signature"]
    asked = [r for r in llm.requests if QUESTION in json.dumps(r["body"])]
    assert len(asked) == 1
    woke, _ = since_last_user(asked[0]["body"])
    assert woke.startswith("[UNTRUSTED EXTERNAL CONTENT from slack:U0E2E]") and QUESTION in woke
    files = [*(system.home / "run" / "logs").glob("*.log"), system.output]
    assert system.home / "run" / "logs" / "gateway.log" in files
    logs = [path.read_text(errors="replace") for path in files]
    assert "webhook refused" in "".join(logs)  # the gateway's log lines are there to be searched
    assert not any(SIGNING_SECRET in text or BOT_TOKEN in text for text in logs)
    assert "answer posted outside" in "".join(logs)
    # Slack retrying the event once more after the answer changes nothing.
    late = httpx.post(url, content=body, headers=_signed(body, **{"x-slack-retry-num": "3"}), timeout=30)
    assert late.status_code == 202 and late.json()["repeat"] is True
    assert len(slack.posted) == 1 and [m for m, _ in slack.calls] == ["chat.postMessage"]


def test_slack_socket_mode_delivers_the_same_way(
    system: RunningSystem, llm: ScriptedLLM, slack: FakeSlack
) -> None:
    question, answer_text = "Is the deploy finished?", "Yes, the deploy finished at noon."
    posted_before = len(slack.posted)
    with FakeSlackSocket(APP_TOKEN, SOCKET_BOT_TOKEN) as socket:
        config = scripted_config(llm)
        config["webhooks"] = {"sources": {
            "slack-main": {"kind": "slack", "anima": "sample", "secrets": [SIGNING_SECRET],
                           "token": BOT_TOKEN, "api_base_url": slack.api_url},
            "slack-sock": {"kind": "slack", "anima": "sample", "mode": "socket", "app_token": APP_TOKEN,
                           "token": SOCKET_BOT_TOKEN, "api_base_url": socket.api_url},
        }}  # fmt: skip
        system.configure(config)
        llm.load([Turn(match=question, text=answer_text)])
        _wait("the gateway's Socket Mode connection", socket.connected)
        event = {
            "type": "event_callback",
            "event_id": "Ev0SOCK",
            "event": {"type": "app_mention", "user": "U0SOCK", "text": f"<@U0BOT> {question}",
                      "channel": "C0SOCK", "ts": "1765000200.000300", "thread_ts": "1765000100.000100"},
        }  # fmt: skip
        envelopes = [socket.send_event(event, retry_attempt=n) for n in (0, 1, 2, 3)]
        _wait("every envelope acknowledged", lambda: set(envelopes) <= set(socket.acks))

        def posted() -> list[Event] | None:
            events = _events(system)
            done = any(isinstance(e, OutboundDelivered) and e.to == "slack-sock" for e in events)
            return events if done else None

        events = _wait("the answer posted through the Socket Mode source", posted)
        (message,) = [e for e in events if isinstance(e, MessageReceived) and e.source == "slack-sock"]
        assert (message.sender, message.thread_id) == ("slack:U0SOCK", "slack:C0SOCK:1765000100.000100")
        assert len([e for e in events if isinstance(e, CycleStarted) and e.causation_id == message.id]) == 1
        (post,) = socket.posted
        assert (post.channel, post.thread_ts, post.text) == ("C0SOCK", "1765000100.000100", answer_text)
        assert socket.opened == 1
        # The HTTP route does not take a Socket Mode source's events.
        body = json.dumps(event).encode()
        refused = httpx.post(
            f"{system.url}/api/webhooks/slack-sock", content=body, headers=_signed(body), timeout=30
        )
        assert refused.status_code == 401
    assert len(slack.posted) == posted_before  # nothing through the other source
    logs = [
        path.read_text(errors="replace")
        for path in [*(system.home / "run" / "logs").glob("*.log"), system.output]
    ]
    assert "Slack Socket Mode connected" in "".join(logs)
    assert not any(APP_TOKEN in text or SOCKET_BOT_TOKEN in text for text in logs)
