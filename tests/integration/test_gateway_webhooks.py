"""Webhook ingress over real HTTP into a real broker: Slack retries are one message, refusals are
401 with an event, a generic source's secret rotates, and no secret or signature reaches a log.

A real nats-server with each service's NATS user; the real gateway app (as the gateway user)
under uvicorn on a loopback socket; requests signed the way Slack, Chatwork and a generic sender
sign them. What the broker stored is read back as the operator.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
import uvicorn
from nats.js import JetStreamContext
from starlette.applications import Starlette

from animas_contracts import Event, MessageOrigin, MessageReceived, WebhookRejected, decode_event
from animas_contracts.subjects import stored_activity_filter
from animas_core.clock import system_clock
from animas_core.runtime import ServiceRuntime
from animas_core.settings import NatsSettings
from animas_core.streams import read_stored
from animas_gateway.app import create_app
from animas_gateway.settings import GatewaySettings
from animas_gateway.webhook_signatures import chatwork_signature, generic_signature, slack_signature
from animas_tools.nats_server import NatsUser

pytestmark = [pytest.mark.nats]

SLACK_SECRET = "slack-signing-secret-0123456789abcdef"
CHATWORK_TOKEN = base64.b64encode(b"chatwork-webhook-token-bytes").decode()
OLD_SECRET, NEW_SECRET = "generic-old-secret-4711", "generic-new-secret-0815"
SECRETS = (SLACK_SECRET, CHATWORK_TOKEN, OLD_SECRET, NEW_SECRET)
CONFIG = {
    "version": 1,
    "webhooks": {
        "sources": {
            "slack-main": {"kind": "slack", "anima": "sample", "secrets": [SLACK_SECRET]},
            "cw": {
                "kind": "chatwork",
                "anima": "sample",
                "secrets": [CHATWORK_TOKEN],
                "token": "chatwork-api-token",
                "account_id": 1484814,
            },
            "ci": {"kind": "generic", "anima": "sample", "secrets": [OLD_SECRET]},
        }
    },
}
SLACK_EVENT = {
    "type": "event_callback",
    "event_id": "Ev0PV52K25",
    "event": {
        "type": "message",
        "user": "U061F7AUR",
        "text": "Can you summarise yesterday's incidents?",
        "channel": "C0LAN2Q65",
        "ts": "1700000000.000100",
    },
}

Api = tuple[httpx.AsyncClient, Starlette, JetStreamContext, datetime, Path]


@pytest.fixture
async def api(tmp_path: Path, secured_nats: tuple[str, dict[str, NatsUser]]) -> AsyncIterator[Api]:
    url, users = secured_nats
    admin = await nats.connect(url, user="admin", password=users["admin"].password)
    (tmp_path / "config.json").write_text(json.dumps(CONFIG))
    settings = GatewaySettings(home=tmp_path, gateway_port=0)
    runtime = ServiceRuntime(
        "gateway", settings, NatsSettings(url=url, user="gateway", password=users["gateway"].password)
    )
    await runtime.connect()
    await runtime.start()
    now = system_clock()  # pinned: every signature below is made relative to it
    app = create_app(runtime, settings, clock=lambda: now)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    base = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            yield client, app, admin.jetstream(), now, tmp_path / "config.json"
    finally:
        server.should_exit = True
        await serving
        await runtime.stop()
        await admin.close()


async def _stored(js: JetStreamContext, event_type: str) -> list[Event]:
    subject = stored_activity_filter(anima="sample", event_type=event_type)
    return [decode_event(msg.data) async for msg in read_stored(js, subject)]


async def _stored_bytes(js: JetStreamContext) -> bytes:
    return b"\n".join([msg.data async for msg in read_stored(js, stored_activity_filter(anima="sample"))])


def _slack_headers(body: bytes, at: datetime, secret: str = SLACK_SECRET, **extra: str) -> dict[str, str]:
    ts = str(int(at.timestamp()))
    return {
        "content-type": "application/json",
        "x-slack-request-timestamp": ts,
        "x-slack-signature": slack_signature(secret, ts, body),
        **extra,
    }


def _generic_headers(body: bytes, at: datetime, secret: str) -> dict[str, str]:
    ts = str(int(at.timestamp()))
    return {
        "content-type": "application/json",
        "x-animaworks-timestamp": ts,
        "x-animaworks-signature": generic_signature(secret, ts, body),
    }


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


async def test_a_slack_event_retried_three_times_is_one_external_message(api: Api) -> None:
    client, _, js, now, _ = api
    body = json.dumps(SLACK_EVENT).encode()
    first = await client.post("/api/webhooks/slack-main", content=body, headers=_slack_headers(body, now))
    assert first.status_code == 202, first.text
    event_id = first.json()["event_id"]
    for attempt in (1, 2, 3):  # Slack's retries: the same body, signed again at its own time
        retry = await client.post(
            "/api/webhooks/slack-main",
            content=body,
            headers=_slack_headers(
                body,
                now + timedelta(seconds=attempt * 60),
                **{"x-slack-retry-num": str(attempt), "x-slack-retry-reason": "http_timeout"},
            ),
        )
        assert retry.status_code == 202, retry.text
        assert retry.json() == {"event_id": event_id, "repeat": True}
    messages = await _stored(js, "message.received")
    assert len(messages) == 1
    message = messages[0]
    assert isinstance(message, MessageReceived) and message.id == event_id
    assert message.origin is MessageOrigin.EXTERNAL
    assert (message.sender, message.thread_id, message.text) == (
        "slack:U061F7AUR",
        "slack:C0LAN2Q65:1700000000.000100",
        "Can you summarise yesterday's incidents?",
    )


async def test_url_verification_bots_and_edits(api: Api) -> None:
    client, _, js, now, _ = api
    challenge = json.dumps({"type": "url_verification", "token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV"})
    answer = await client.post(
        "/api/webhooks/slack-main", content=challenge, headers=_slack_headers(challenge.encode(), now)
    )
    assert answer.status_code == 200 and answer.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV"}
    for change in ({"bot_id": "B1"}, {"subtype": "message_changed"}, {"subtype": "channel_join"}):
        event = {**SLACK_EVENT, "event": {**SLACK_EVENT["event"], **change}}  # type: ignore[dict-item]
        body = json.dumps(event).encode()
        ignored = await client.post(
            "/api/webhooks/slack-main", content=body, headers=_slack_headers(body, now)
        )
        assert ignored.status_code == 200 and "ignored" in ignored.json()
    assert await _stored(js, "message.received") == []


async def test_bad_and_stale_signatures_are_401_with_an_event_and_nothing_they_carried(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    client, app, js, now, _ = api
    caplog.set_level(logging.DEBUG)
    body = json.dumps({**SLACK_EVENT, "event_id": "EvSECRETBODY"}).encode()
    forged = _slack_headers(body, now, secret="not-the-signing-secret")
    _problem(await client.post("/api/webhooks/slack-main", content=body, headers=forged), 401)
    six_minutes_old = _slack_headers(body, now - timedelta(minutes=6))
    stale = _problem(
        await client.post("/api/webhooks/slack-main", content=body, headers=six_minutes_old), 401
    )
    assert stale["reason"] == "stale_timestamp"
    unsigned = {"content-type": "application/json"}
    _problem(await client.post("/api/webhooks/slack-main", content=body, headers=unsigned), 401)
    # A caller from another machine, without a token: the route is public, the signature decides.
    elsewhere = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("192.0.2.7", 4711)), base_url="http://gateway"
    )
    async with elsewhere:
        cw_body = b'{"webhook_event_type":"message_created","webhook_event":{"body":"x"}}'
        bad_cw = {"x-chatworkwebhooksignature": chatwork_signature(CHATWORK_TOKEN, cw_body + b" ")}
        _problem(await elsewhere.post("/api/webhooks/cw", content=cw_body, headers=bad_cw), 401)
        # An unknown source: 401, and no anima to record it under.
        _problem(await elsewhere.post("/api/webhooks/nobody", content=body, headers=forged), 401)
    rejected = await _stored(js, "webhook.rejected")
    assert [(e.source, e.reason, e.remote_address) for e in rejected if isinstance(e, WebhookRejected)] == [
        ("slack-main", "bad_signature", "127.0.0.1"),
        ("slack-main", "stale_timestamp", "127.0.0.1"),
        ("slack-main", "missing_signature", "127.0.0.1"),
        ("cw", "bad_signature", "192.0.2.7"),
    ]
    assert await _stored(js, "message.received") == []
    # Then an accepted one, to see what its logs say too.
    good = await client.post("/api/webhooks/slack-main", content=body, headers=_slack_headers(body, now))
    assert good.status_code == 202
    stored = await _stored_bytes(js)
    logged = caplog.text + "".join(str(vars(r)) for r in caplog.records)
    assert "webhook refused" in logged and "webhook accepted" in logged  # the logs were captured
    for secret in SECRETS:
        assert secret not in logged and secret.encode() not in stored
    for signature in (forged["x-slack-signature"], six_minutes_old["x-slack-signature"]):
        assert signature not in logged and signature.encode() not in stored
    # The refusal records keep no body: the one message stored is the accepted request's.
    assert stored.count(b"EvSECRETBODY") == 0 and stored.count(b"yesterday's incidents") == 1


async def test_a_generic_source_s_secret_rotates_through_the_config_api(api: Api) -> None:
    client, _, js, now, config_path = api
    body = json.dumps({"text": "deploy finished", "sender": "ci-bot", "id": "delivery-1"}).encode()
    by_old, by_new = _generic_headers(body, now, OLD_SECRET), _generic_headers(body, now, NEW_SECRET)
    assert (await client.post("/api/webhooks/ci", content=body, headers=by_old)).status_code == 202
    _problem(await client.post("/api/webhooks/ci", content=body, headers=by_new), 401)
    # GET shows every secret masked; PUT with "***" keeps the stored one and adds the new one.
    shown = (await client.get("/api/config")).json()
    assert shown["webhooks"]["sources"]["ci"]["secrets"] == ["***"]
    assert not any(s in json.dumps(shown) for s in SECRETS)
    shown["webhooks"]["sources"]["ci"]["secrets"] = ["***", NEW_SECRET]
    put = await client.put("/api/config", json=shown)
    assert put.status_code == 200, put.text
    assert put.json()["webhooks"]["sources"]["ci"]["secrets"] == ["***", "***"]
    assert put.json()["webhooks"]["sources"]["slack-main"]["secrets"] == ["***"]
    for headers in (by_old, by_new):  # during rotation: both
        accepted = await client.post("/api/webhooks/ci", content=body, headers=headers)
        assert accepted.status_code == 202 and accepted.json()["repeat"] is True
    # The old one retired: refused.
    shown = (await client.get("/api/config")).json()
    shown["webhooks"]["sources"]["ci"]["secrets"] = [NEW_SECRET]
    assert (await client.put("/api/config", json=shown)).status_code == 200
    second = json.dumps({"text": "deploy rolled back", "id": "delivery-2"}).encode()
    retired = _problem(
        await client.post(
            "/api/webhooks/ci", content=second, headers=_generic_headers(second, now, OLD_SECRET)
        ),
        401,
    )
    assert retired["reason"] == "bad_signature"
    new = await client.post(
        "/api/webhooks/ci", content=second, headers=_generic_headers(second, now, NEW_SECRET)
    )
    assert new.status_code == 202
    messages = [e for e in await _stored(js, "message.received") if isinstance(e, MessageReceived)]
    assert [(m.text, m.sender, m.origin) for m in messages] == [
        ("deploy finished", "webhook:ci:ci-bot", MessageOrigin.EXTERNAL),
        ("deploy rolled back", "webhook:ci", MessageOrigin.EXTERNAL),
    ]
    # The stored Slack secret was kept by every PUT that sent "***" for it.
    config = json.loads(config_path.read_text())
    assert config["webhooks"]["sources"]["slack-main"]["secrets"] == [SLACK_SECRET]
    assert [e.reason for e in await _stored(js, "webhook.rejected") if isinstance(e, WebhookRejected)] == [
        "bad_signature",
        "bad_signature",
    ]


async def test_a_chatwork_message_signed_in_the_header_or_the_query_is_one_message(api: Api) -> None:
    client, _, js, _, _ = api
    body = json.dumps(
        {
            "webhook_setting_id": "12345",
            "webhook_event_type": "mention_to_me",
            "webhook_event_time": 1498028130,
            "webhook_event": {
                "from_account_id": 123456,
                "to_account_id": 1484814,
                "room_id": 567890123,
                "message_id": "789012345",
                "body": "[To:1484814] What is on today's agenda?",
                "send_time": 1498028125,
                "update_time": 0,
            },
        }
    ).encode()
    signature = chatwork_signature(CHATWORK_TOKEN, body)
    by_header = await client.post(
        "/api/webhooks/cw", content=body, headers={"x-chatworkwebhooksignature": signature}
    )
    assert by_header.status_code == 202, by_header.text
    by_query = await client.post(
        "/api/webhooks/cw", content=body, params={"chatwork_webhook_signature": signature}
    )
    assert by_query.json() == {"event_id": by_header.json()["event_id"], "repeat": True}
    [message] = await _stored(js, "message.received")
    assert isinstance(message, MessageReceived)
    assert (message.sender, message.thread_id, message.origin) == (
        "chatwork:123456",
        "chatwork:567890123",
        MessageOrigin.EXTERNAL,
    )


async def test_an_answer_posted_to_chatwork_that_comes_back_by_webhook_starts_nothing(api: Api) -> None:
    # Outbound posts the anima's answer as account 1484814 (the source's token); Chatwork's room
    # webhook sends that post back as message_created. It is acknowledged and dropped, or the
    # anima would answer its own answer, and that answer too.
    client, _, js, _, _ = api

    def created(message_id: str, account: int) -> bytes:
        event = {"message_id": message_id, "room_id": 567890123, "account_id": account,
                 "body": "Today: the release review.", "send_time": 1498028130, "update_time": 0}  # fmt: skip
        return json.dumps({"webhook_setting_id": "12345", "webhook_event_type": "message_created",
                           "webhook_event_time": 1498028131, "webhook_event": event}).encode()  # fmt: skip

    own = created("789012346", 1484814)
    echoed = await client.post(
        "/api/webhooks/cw",
        content=own,
        headers={"x-chatworkwebhooksignature": chatwork_signature(CHATWORK_TOKEN, own)},
    )
    assert echoed.status_code == 200, echoed.text
    assert "ignored" in echoed.json()
    assert await _stored_bytes(js) == b""  # no message.received: no cycle
    person = created("789012347", 123456)
    said = await client.post(
        "/api/webhooks/cw",
        content=person,
        headers={"x-chatworkwebhooksignature": chatwork_signature(CHATWORK_TOKEN, person)},
    )
    assert said.status_code == 202, said.text
    [message] = await _stored(js, "message.received")
    assert isinstance(message, MessageReceived) and message.sender == "chatwork:123456"
