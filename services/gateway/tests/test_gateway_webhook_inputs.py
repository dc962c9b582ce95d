"""What a verified webhook body becomes: a message (ids, threads, senders), a challenge, or nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from animas_contracts import MessageOrigin
from animas_core.api_config import ApiConfig
from animas_core.config import AnimaWorksConfig, ConfigError, parse_config
from animas_gateway.api.config_routes import masked, restore_secrets
from animas_gateway.problems import Problem
from animas_gateway.webhook_inputs import (
    BadPayload,
    Challenge,
    Ignored,
    Inbound,
    chatwork_input,
    generic_input,
    message_event,
    slack_input,
    webhook_message_id,
)

LIMITS = ApiConfig(max_message_chars=50)


def _slack(event: dict[str, Any], event_id: str = "Ev1") -> bytes:
    return json.dumps({"type": "event_callback", "event_id": event_id, "event": event}).encode()


MESSAGE = {"type": "message", "user": "U1", "text": "hello", "channel": "C9", "ts": "1700000000.000100"}


def test_a_slack_message_is_an_external_message_in_its_slack_thread() -> None:
    said = slack_input(_slack(MESSAGE))
    assert said == Inbound(
        text="hello",
        sender="slack:U1",
        thread_id="slack:C9:1700000000.000100",
        delivery_key="slack:C9:1700000000.000100",
        user=None,  # a channel: no person of the people map (see below)
    )
    event = message_event("slack-main", "sample", said, LIMITS)
    assert event.origin is MessageOrigin.EXTERNAL and event.anima == "sample"
    assert event.source == "slack-main"  # where outbound posts the answer
    assert event.id == event.correlation_id == webhook_message_id("slack-main", "slack:C9:1700000000.000100")
    reply_in_thread = slack_input(_slack({**MESSAGE, "ts": "1700000009.000200", "thread_ts": MESSAGE["ts"]}))
    assert isinstance(reply_in_thread, Inbound)
    assert reply_in_thread.thread_id == "slack:C9:1700000000.000100"


def test_a_retry_and_the_app_mention_twin_of_a_message_are_the_same_message() -> None:
    first = message_event("slack-main", "sample", _inbound(slack_input(_slack(MESSAGE, "Ev1"))), LIMITS)
    retry = message_event("slack-main", "sample", _inbound(slack_input(_slack(MESSAGE, "Ev1"))), LIMITS)
    mention = {**MESSAGE, "type": "app_mention"}
    twin = message_event("slack-main", "sample", _inbound(slack_input(_slack(mention, "Ev2"))), LIMITS)
    assert first.id == retry.id == twin.id
    other_source = message_event("slack-two", "sample", _inbound(slack_input(_slack(MESSAGE))), LIMITS)
    later = message_event(
        "slack-main", "sample", _inbound(slack_input(_slack({**MESSAGE, "ts": "1.2"}))), LIMITS
    )
    assert len({first.id, other_source.id, later.id}) == 3


def test_people_mapped_by_platform_user_id_are_the_peers_the_animas_know() -> None:
    people = {"U1": "alice", "7": "bob", "build-bot": "carol"}
    dm = {**MESSAGE, "channel": "D9"}
    slack = message_event("slack-main", "sample", _inbound(slack_input(_slack(dm))), LIMITS, people)
    assert (slack.sender, slack.thread_id) == ("alice", "slack:D9:1700000000.000100")
    stranger = {**dm, "user": "U2"}
    unmapped = message_event("slack-main", "sample", _inbound(slack_input(_slack(stranger))), LIMITS, people)
    assert unmapped.sender == "slack:U2"
    body = {"webhook_event_type": "message_created",
            "webhook_event": {"message_id": "5", "room_id": 3, "account_id": 7, "body": "hi"}}  # fmt: skip
    said = _inbound(chatwork_input(json.dumps(body).encode()))
    chatwork = message_event("cw", "sample", said, LIMITS, people)
    assert (chatwork.sender, chatwork.thread_id) == ("bob", "chatwork:3")
    generic = generic_input("ci", json.dumps({"text": "done", "sender": "build-bot"}).encode())
    assert message_event("ci", "sample", _inbound(generic), LIMITS, people).sender == "carol"
    # A user id is matched whole: the generic source's name or another platform's prefix is no key.
    assert message_event("ci", "sample", _inbound(generic), LIMITS, {"ci:build-bot": "x"}).sender == (
        "webhook:ci:build-bot"
    )


@pytest.mark.parametrize("channel", ["C9", "G9"])
def test_a_mapped_slack_user_outside_a_dm_is_not_the_person(channel: str) -> None:
    # The answer is posted in the channel, where others read it: it must not draw on alice's own
    # memories, so the sender stays the platform user.
    in_channel = {**MESSAGE, "channel": channel}
    said = _inbound(slack_input(_slack(in_channel)))
    event = message_event("slack-main", "sample", said, LIMITS, {"U1": "alice"})
    assert (event.sender, event.thread_id) == ("slack:U1", f"slack:{channel}:1700000000.000100")


@pytest.mark.parametrize(
    "event",
    [
        {"webhook_event_type": "message_created",
         "webhook_event": {"message_id": "5", "room_id": 3, "account_id": 1484814, "body": "the answer"}},
        {"webhook_event_type": "mention_to_me",
         "webhook_event": {"message_id": "5", "room_id": 3, "from_account_id": "1484814",
                           "to_account_id": 1484814, "body": "[To:1484814] the answer"}},
    ],
)  # fmt: skip
def test_a_chatwork_post_of_the_answering_account_is_ignored(event: dict[str, Any]) -> None:
    body = json.dumps(event).encode()
    assert isinstance(chatwork_input(body, answering_account=1484814), Ignored)
    assert isinstance(chatwork_input(body, answering_account=7), Inbound)  # someone else's account
    assert isinstance(chatwork_input(body), Inbound)


def test_a_chatwork_source_that_posts_answers_names_its_account() -> None:
    source = {"kind": "chatwork", "anima": "sample", "secrets": ["c2VjcmV0"], "token": "cw-api-token"}
    with pytest.raises(ConfigError, match="account_id"):
        parse_config({"webhooks": {"sources": {"cw": source}}})
    config = parse_config({"webhooks": {"sources": {"cw": {**source, "account_id": 1484814}}}})
    assert config.webhooks.sources["cw"].account_id == 1484814
    slack = {"kind": "slack", "anima": "sample", "secrets": ["a"], "account_id": 1}
    with pytest.raises(ConfigError, match="account_id"):
        parse_config({"webhooks": {"sources": {"s": slack}}})


def _inbound(said: object) -> Inbound:
    assert isinstance(said, Inbound)
    return said


def test_url_verification_is_a_challenge() -> None:
    body = json.dumps({"type": "url_verification", "token": "t", "challenge": "3eZbrw1aB"}).encode()
    assert slack_input(body) == Challenge("3eZbrw1aB")
    with pytest.raises(BadPayload):
        slack_input(b'{"type": "url_verification"}')


@pytest.mark.parametrize(
    "event",
    [
        {**MESSAGE, "bot_id": "B1"},
        {**MESSAGE, "subtype": "bot_message"},
        {**MESSAGE, "subtype": "message_changed"},
        {**MESSAGE, "subtype": "channel_join"},
        {**MESSAGE, "subtype": "message_deleted"},
        {**MESSAGE, "text": "  "},
        {"type": "reaction_added", "user": "U1"},
        {k: v for k, v in MESSAGE.items() if k != "user"},
    ],
)
def test_bots_edits_joins_and_other_events_are_ignored(event: dict[str, Any]) -> None:
    assert isinstance(slack_input(_slack(event)), Ignored)


def test_slack_bodies_that_are_not_events_api_bodies() -> None:
    assert isinstance(slack_input(b'{"type": "app_rate_limited"}'), Ignored)
    with pytest.raises(BadPayload):
        slack_input(b"not json")
    with pytest.raises(BadPayload):
        slack_input(b'{"type": 3}')


def _chatwork(kind: str, **event: Any) -> bytes:
    return json.dumps(
        {"webhook_setting_id": "1", "webhook_event_type": kind, "webhook_event": event}
    ).encode()


def test_a_chatwork_message_and_a_mention_of_it_are_one_message_in_the_room_s_thread() -> None:
    created = _inbound(
        chatwork_input(
            _chatwork("message_created", message_id="789", room_id=567, account_id=123, body="おはよう")
        )
    )
    assert (created.sender, created.thread_id, created.text) == ("chatwork:123", "chatwork:567", "おはよう")
    mention = _inbound(
        chatwork_input(
            _chatwork("mention_to_me", message_id="789", room_id=567, from_account_id=123, to_account_id=9,
                      body="おはよう")
        )
    )  # fmt: skip
    assert mention.sender == "chatwork:123"
    a = message_event("cw", "sample", created, LIMITS)
    b = message_event("cw", "sample", mention, LIMITS)
    assert a.id == b.id == webhook_message_id("cw", "chatwork:789")
    assert isinstance(chatwork_input(_chatwork("message_updated", message_id="789", room_id=5)), Ignored)
    with pytest.raises(BadPayload):
        chatwork_input(_chatwork("message_created", room_id=5, account_id=1, body="x"))


def test_a_generic_body_is_namespaced_by_its_source() -> None:
    said = _inbound(generic_input("ci", b'{"text": "build failed", "sender": "jenkins", "thread_id": "b-7"}'))
    assert (said.sender, said.thread_id, said.delivery_key) == ("webhook:ci:jenkins", "webhook:ci:b-7", None)
    bare = _inbound(generic_input("ci", b'{"text": "x"}'))
    assert (bare.sender, bare.thread_id) == ("webhook:ci", "webhook:ci")
    keyed = _inbound(generic_input("ci", b'{"text": "x", "id": "delivery-42"}'))
    a = message_event("ci", "sample", keyed, LIMITS)
    assert a.id == message_event("ci", "sample", keyed, LIMITS).id == webhook_message_id("ci", "delivery-42")
    unkeyed = message_event("ci", "sample", bare, LIMITS)
    assert unkeyed.id != message_event("ci", "sample", bare, LIMITS).id  # no id: each delivery is new
    for body in (b'{"sender": "x"}', b'{"text": "x", "extra": 1}', b'{"text": "x", "id": "has space"}'):
        with pytest.raises(BadPayload):
            generic_input("ci", body)


@pytest.mark.parametrize(
    "inbound",
    [
        Inbound(text="x" * 51, sender="webhook:ci", thread_id="webhook:ci", delivery_key=None),
        Inbound(text="a\x00b", sender="webhook:ci", thread_id="webhook:ci", delivery_key=None),
        Inbound(text="x", sender="webhook:ci", thread_id="webhook:ci:has space", delivery_key=None),
    ],
)
def test_what_the_api_would_refuse_from_a_person_is_refused_from_a_webhook(inbound: Inbound) -> None:
    with pytest.raises(BadPayload):
        message_event("ci", "sample", inbound, LIMITS)


SOURCES = {
    "slack-main": {"kind": "slack", "anima": "sample", "secrets": ["old-signing", "new-signing"]},
    "cw": {"kind": "chatwork", "anima": "sample", "secrets": ["c2VjcmV0"]},
}


def test_secrets_are_masked_and_a_mask_sent_back_keeps_the_secret_at_its_place() -> None:
    stored = parse_config({"webhooks": {"sources": SOURCES}})
    shown = masked(stored)
    assert shown["webhooks"]["sources"]["slack-main"]["secrets"] == ["***", "***"]
    assert "old-signing" not in json.dumps(shown) and "c2VjcmV0" not in json.dumps(shown)
    # Sent back as shown: every secret kept.
    kept = parse_config(restore_secrets(shown, stored))
    assert kept.webhooks.sources["slack-main"].secret_values() == ("old-signing", "new-signing")
    # A "***" stands for the secret at its place: the second one replaced, the first kept.
    shown["webhooks"]["sources"]["slack-main"]["secrets"] = ["***", "newer"]
    replaced = parse_config(restore_secrets(shown, stored))
    assert replaced.webhooks.sources["slack-main"].secret_values() == ("old-signing", "newer")
    # Rotation's last step: the old one retired by sending the new one alone.
    shown["webhooks"]["sources"]["slack-main"]["secrets"] = ["new-signing"]
    retired = parse_config(restore_secrets(shown, stored))
    assert retired.webhooks.sources["slack-main"].secret_values() == ("new-signing",)
    shown["webhooks"]["sources"]["slack-main"]["secrets"] = ["***", "***", "***"]
    with pytest.raises(Problem) as too_many:
        restore_secrets(shown, stored)
    assert too_many.value.status == 422
    shown["webhooks"]["sources"]["new-source"] = {"kind": "generic", "anima": "sample", "secrets": ["***"]}
    with pytest.raises(Problem):
        restore_secrets(shown, AnimaWorksConfig())


def test_a_sources_reply_token_and_callback_secret_are_masked_and_kept() -> None:
    sources = {
        "slack-main": {"kind": "slack", "anima": "sample", "secrets": ["signing"], "token": "xoxb-bot-token"},
        "ci": {"kind": "generic", "anima": "sample", "secrets": ["s"], "callback_url": "http://127.0.0.1:9/cb",
               "callback_secret": "cb-secret"},
    }  # fmt: skip
    stored = parse_config({"webhooks": {"sources": sources}})
    shown = masked(stored)
    assert shown["webhooks"]["sources"]["slack-main"]["token"] == "***"
    assert shown["webhooks"]["sources"]["ci"]["callback_secret"] == "***"
    assert "xoxb-bot-token" not in json.dumps(shown) and "cb-secret" not in json.dumps(shown)
    kept = parse_config(restore_secrets(shown, stored)).webhooks.sources
    token = kept["slack-main"].token
    assert token is not None and token.get_secret_value() == "xoxb-bot-token"
    assert kept["ci"].callback_key() == "cb-secret"
    new = {"kind": "slack", "anima": "sample", "secrets": ["n"], "token": "***"}
    shown["webhooks"]["sources"]["new"] = new
    with pytest.raises(Problem) as none_stored:
        restore_secrets(shown, stored)
    assert none_stored.value.status == 422


@pytest.mark.parametrize(
    "source",
    [
        {"kind": "slack", "anima": "sample", "secrets": []},
        {"kind": "slack", "anima": "sample", "secrets": ["a", "b", "c"]},
        {"kind": "slack", "anima": "sample", "secrets": [""]},
        {"kind": "chatwork", "anima": "sample", "secrets": ["not base64 !"]},
        {"kind": "teams", "anima": "sample", "secrets": ["a"]},
        {"kind": "slack", "anima": "Not A Name", "secrets": ["a"]},
        {"kind": "slack", "anima": "sample", "secrets": ["a"], "people": {"U1": "slack:U9"}},
        {"kind": "slack", "anima": "sample", "secrets": ["a"], "people": {"U 1": "alice"}},
        {"kind": "slack", "anima": "sample", "secrets": ["a"], "api_base_url": "file:///etc"},
    ],
)
def test_a_source_that_cannot_work_stops_the_config(source: dict[str, Any]) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"webhooks": {"sources": {"s": source}}})
    assert "not base64 !" not in str(caught.value)  # a malformed secret is not echoed
