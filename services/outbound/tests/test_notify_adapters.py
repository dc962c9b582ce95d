"""The notification adapters against local fake receivers over real HTTP and SMTP."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email import message_from_bytes

import httpx
import pytest

from animas_contracts import NotifyPriority
from animas_core.config import AnimaWorksConfig, NotificationChannel
from animas_outbound.notify.adapters import Notification, PermanentSendError, RetryableSendError
from animas_outbound.notify.channels import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    ChatworkAdapter,
    NtfyAdapter,
    SlackAdapter,
    UnusableChannel,
    WebhookAdapter,
    build_adapter,
    channel_names,
    signature,
)
from animas_outbound.notify.mail import EmailAdapter
from animas_tools.fake_receivers import FakeReceiver, FakeSmtp, free_port

NOTE = Notification(
    request_id="req-1",
    anima="sample",
    subject="Deploy blocked 止まった",
    body="Approval needed.",
    priority=NotifyPriority.URGENT,
    ts=datetime(2026, 2, 12, 9, 0, tzinfo=UTC),
)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0) as http:
        yield http


async def test_ntfy_gets_json_with_title_priority_and_the_key(client: httpx.AsyncClient) -> None:
    with FakeReceiver() as ntfy:
        await NtfyAdapter(client, ntfy.url, "alerts", token="tk-secret").send(NOTE, "key-1")
    (got,) = ntfy.received
    payload = json.loads(got.body)
    assert payload == {
        "topic": "alerts",
        "title": "Deploy blocked 止まった (sample)",
        "message": "Approval needed.",
        "priority": 5,
    }
    assert got.headers["Priority"] == "5" and got.headers["Authorization"] == "Bearer tk-secret"
    assert got.headers["Idempotency-Key"] == got.headers["X-Idempotency-Key"] == "key-1"


async def test_slack_webhook_gets_a_text(client: httpx.AsyncClient) -> None:
    with FakeReceiver() as slack:
        await SlackAdapter(client, f"{slack.url}/services/T/B/X").send(NOTE, "key-2")
    (got,) = slack.received
    assert got.path == "/services/T/B/X"
    assert json.loads(got.body)["text"].startswith("*[URGENT] Deploy blocked")


async def test_chatwork_posts_to_the_room_with_the_token(client: httpx.AsyncClient) -> None:
    with FakeReceiver() as chatwork:
        await ChatworkAdapter(client, "123", "cw-token", chatwork.url + "/v2").send(NOTE, "key-3")
    (got,) = chatwork.received
    assert got.path == "/v2/rooms/123/messages" and got.headers["X-ChatWorkToken"] == "cw-token"
    assert b"%5Binfo%5D" in got.body  # form-encoded [info]…[/info]


async def test_the_webhook_signature_covers_timestamp_and_raw_body(client: httpx.AsyncClient) -> None:
    with FakeReceiver() as hook:
        await WebhookAdapter(client, hook.url, "s3cret", clock=lambda: 1_770_000_000.0).send(NOTE, "key-4")
    (got,) = hook.received
    assert got.headers[TIMESTAMP_HEADER] == "1770000000"
    expected = hmac.new(b"s3cret", b"1770000000." + got.body, hashlib.sha256).hexdigest()
    assert (
        got.headers[SIGNATURE_HEADER] == f"sha256={expected}" == signature("s3cret", "1770000000", got.body)
    )
    assert json.loads(got.body)["id"] == "key-4"


async def test_statuses_are_classified_and_secrets_never_in_errors(client: httpx.AsyncClient) -> None:
    with FakeReceiver([503, 429, 401]) as hook:
        adapter = WebhookAdapter(client, hook.url + "/hook-secret-path", "s3cret")
        for expected in (RetryableSendError, RetryableSendError, PermanentSendError):
            with pytest.raises(expected) as info:
                await adapter.send(NOTE, "k")
            assert "hook-secret-path" not in str(info.value) and "s3cret" not in str(info.value)
            assert str(info.value).startswith("HTTP ")
    with pytest.raises(RetryableSendError) as refused:
        await SlackAdapter(client, f"http://127.0.0.1:{free_port()}/T/secret").send(NOTE, "k")
    assert "secret" not in str(refused.value)


async def test_email_goes_over_smtp_with_the_key_as_message_id() -> None:
    with FakeSmtp() as smtp:
        adapter = EmailAdapter(
            host="127.0.0.1",
            port=smtp.port,
            sender="animas@example.com",
            to=("me@example.com",),
            starttls=False,
        )
        await adapter.send(NOTE, "key-5")
    ((sender, recipients, data),) = smtp.messages
    assert (sender, recipients) == ("animas@example.com", ["me@example.com"])
    mail = message_from_bytes(data)
    assert mail["Message-ID"] == "<key-5@animaworks>" and mail["X-Priority"] == "1"
    assert "Deploy blocked" in str(mail["Subject"])


async def test_email_to_nowhere_is_retryable() -> None:
    adapter = EmailAdapter(host="127.0.0.1", port=free_port(), sender="a@x", to=("b@x",), starttls=False)
    with pytest.raises(RetryableSendError):
        await adapter.send(NOTE, "k")


async def test_adapters_come_from_config_with_credentials(client: httpx.AsyncClient) -> None:
    config = AnimaWorksConfig.model_validate(
        {
            "credentials": {
                "slack-hook": {"api_key": "https://hooks.example/T/B/X"},
                "ntfy": {"base_url": "https://ntfy.example"},
                "hook": {"api_key": "sign"},
            },
            "human_notification": {
                "enabled": True,
                "channels": [
                    {"type": "ntfy", "target": "alerts", "credential": "ntfy"},
                    {"type": "slack", "credential": "slack-hook"},
                    {"type": "webhook", "url": "https://me.example/n", "credential": "hook"},
                    {"type": "webhook"},
                    {"type": "line", "target": "u1"},
                ],
            },
        }
    )
    channels = config.human_notification.channels
    assert channel_names(channels) == ["ntfy", "slack", "webhook", "webhook-2", "line"]
    ntfy = build_adapter(channels[0], config, client, 5.0)
    assert isinstance(ntfy, NtfyAdapter) and ntfy.base_url == "https://ntfy.example"
    slack = build_adapter(channels[1], config, client, 5.0)
    assert isinstance(slack, SlackAdapter) and slack.url == "https://hooks.example/T/B/X"
    assert isinstance(build_adapter(channels[2], config, client, 5.0), WebhookAdapter)
    for unusable in channels[3:]:
        with pytest.raises(UnusableChannel):
            build_adapter(unusable, config, client, 5.0)
    assert NotificationChannel(type="email").smtp_port == 587
