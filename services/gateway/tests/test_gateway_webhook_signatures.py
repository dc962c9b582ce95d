"""Webhook signatures: Slack v0, Chatwork, generic HMAC; the timestamp window; rotation."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from animas_gateway.webhook_signatures import (
    MAX_SKEW_S,
    RejectReason,
    SignatureRejected,
    chatwork_signature,
    generic_signature,
    slack_signature,
    verify_chatwork,
    verify_generic,
    verify_slack,
)

NOW = datetime(2026, 3, 6, 8, 30, tzinfo=UTC)
TS = str(int(NOW.timestamp()))
BODY = b'{"type":"event_callback","event":{"type":"message","text":"hi"}}'
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BAD = RejectReason.BAD_SIGNATURE
MISSING = RejectReason.MISSING_SIGNATURE


def _reason(call: object) -> RejectReason:
    assert callable(call)
    with pytest.raises(SignatureRejected) as caught:
        call()
    return caught.value.reason


def test_slack_s_documented_example_is_verified() -> None:
    # The example of Slack's "Verifying requests from Slack" page: secret, timestamp, body, signature.
    body = (
        b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
        b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
        b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
        b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    signature = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    then = datetime.fromtimestamp(1531420618, UTC)
    assert slack_signature(SECRET, "1531420618", body) == signature
    verify_slack([SECRET], signature, "1531420618", body, then)
    assert _reason(lambda: verify_slack([SECRET], signature, "1531420618", body + b"x", then)) is (BAD)


def test_slack_refuses_a_tampered_body_a_wrong_secret_and_a_missing_or_malformed_signature() -> None:
    good = slack_signature(SECRET, TS, BODY)
    verify_slack([SECRET], good, TS, BODY, NOW)
    assert _reason(lambda: verify_slack([SECRET], good, TS, BODY.replace(b"hi", b"ho"), NOW)) is (BAD)
    assert _reason(lambda: verify_slack(["another"], good, TS, BODY, NOW)) is BAD
    assert _reason(lambda: verify_slack([SECRET], None, TS, BODY, NOW)) is MISSING
    assert _reason(lambda: verify_slack([SECRET], "v1=" + good[3:], TS, BODY, NOW)) is BAD
    assert _reason(lambda: verify_slack([SECRET], "v0=zz", TS, BODY, NOW)) is BAD
    # The timestamp is signed: moving it breaks the signature even inside the window.
    moved = str(int(TS) + 1)
    assert _reason(lambda: verify_slack([SECRET], good, moved, BODY, NOW)) is BAD


@pytest.mark.parametrize(
    ("offset_s", "reason"),
    [
        (-(MAX_SKEW_S + 60), RejectReason.STALE_TIMESTAMP),  # six minutes old
        (-(MAX_SKEW_S + 1), RejectReason.STALE_TIMESTAMP),
        (MAX_SKEW_S + 1, RejectReason.FUTURE_TIMESTAMP),
    ],
)
def test_a_timestamp_outside_five_minutes_either_way_is_refused(offset_s: int, reason: RejectReason) -> None:
    ts = str(int((NOW + timedelta(seconds=offset_s)).timestamp()))
    # Correctly signed: only the time is wrong (a captured request replayed later).
    assert _reason(lambda: verify_slack([SECRET], slack_signature(SECRET, ts, BODY), ts, BODY, NOW)) is reason
    assert _reason(lambda: verify_generic([SECRET], generic_signature(SECRET, ts, BODY), ts, BODY, NOW)) is (
        reason
    )


@pytest.mark.parametrize("offset_s", [-MAX_SKEW_S, 0, MAX_SKEW_S])
def test_the_window_s_edges_are_inside(offset_s: int) -> None:
    ts = str(int((NOW + timedelta(seconds=offset_s)).timestamp()))
    verify_slack([SECRET], slack_signature(SECRET, ts, BODY), ts, BODY, NOW)
    verify_generic([SECRET], generic_signature(SECRET, ts, BODY), ts, BODY, NOW)


@pytest.mark.parametrize(
    ("timestamp", "reason"),
    [(None, RejectReason.MISSING_TIMESTAMP), ("", RejectReason.MISSING_TIMESTAMP),
     ("1.5", RejectReason.BAD_TIMESTAMP), ("-1", RejectReason.BAD_TIMESTAMP),
     ("１２３", RejectReason.BAD_TIMESTAMP), ("9" * 40, RejectReason.BAD_TIMESTAMP)],
)  # fmt: skip
def test_a_missing_or_malformed_timestamp_is_refused(timestamp: str | None, reason: RejectReason) -> None:
    signature = generic_signature(SECRET, TS, BODY)
    assert _reason(lambda: verify_generic([SECRET], signature, timestamp, BODY, NOW)) is reason
    assert _reason(
        lambda: verify_slack([SECRET], slack_signature(SECRET, TS, BODY), timestamp, BODY, NOW)
    ) is (reason)


def test_generic_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = "sha256=" + hmac.new(b"s3cret", TS.encode() + b"." + BODY, hashlib.sha256).hexdigest()
    assert generic_signature("s3cret", TS, BODY) == expected
    verify_generic(["s3cret"], expected, TS, BODY, NOW)
    assert _reason(lambda: verify_generic(["s3cret"], expected, TS, BODY + b" ", NOW)) is (BAD)
    assert _reason(lambda: verify_generic(["s3cret"], expected[7:], TS, BODY, NOW)) is BAD
    assert _reason(lambda: verify_generic(["s3cret"], "", TS, BODY, NOW)) is MISSING


def test_rotation_accepts_old_and_new_while_both_are_listed_and_not_the_retired_one() -> None:
    old, new = "old-secret", "new-secret"
    by_old, by_new = generic_signature(old, TS, BODY), generic_signature(new, TS, BODY)
    # 1. Only the old secret.
    verify_generic([old], by_old, TS, BODY, NOW)
    assert _reason(lambda: verify_generic([old], by_new, TS, BODY, NOW)) is BAD
    # 2. During rotation both are accepted, whichever is listed first.
    for secrets in ([old, new], [new, old]):
        verify_generic(secrets, by_old, TS, BODY, NOW)
        verify_generic(secrets, by_new, TS, BODY, NOW)
    # 3. The old one retired: refused.
    verify_generic([new], by_new, TS, BODY, NOW)
    assert _reason(lambda: verify_generic([new], by_old, TS, BODY, NOW)) is BAD
    # Slack and Chatwork rotate the same way.
    verify_slack([old, new], slack_signature(new, TS, BODY), TS, BODY, NOW)
    assert _reason(lambda: verify_slack([new], slack_signature(old, TS, BODY), TS, BODY, NOW)) is (BAD)


def test_chatwork_signature_is_base64_hmac_keyed_by_the_decoded_token() -> None:
    key = b"\x01\x02chatwork token bytes\xff"
    token = base64.b64encode(key).decode()
    body = b'{"webhook_event_type":"message_created"}'
    expected = base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()
    assert chatwork_signature(token, body) == expected
    verify_chatwork([token], expected, body)
    assert _reason(lambda: verify_chatwork([token], expected, body + b"x")) is BAD
    # Keyed by the token's bytes, not its base64 text.
    by_text = base64.b64encode(hmac.new(token.encode(), body, hashlib.sha256).digest()).decode()
    assert _reason(lambda: verify_chatwork([token], by_text, body)) is BAD
    assert _reason(lambda: verify_chatwork([token], "not base64!", body)) is BAD
    assert _reason(lambda: verify_chatwork([token], None, body)) is MISSING
    other = base64.b64encode(b"the next token").decode()
    verify_chatwork([token, other], chatwork_signature(other, body), body)
    assert _reason(lambda: verify_chatwork([other], expected, body)) is BAD
