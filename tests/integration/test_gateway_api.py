"""The gateway's API as a whole: its OpenAPI document, the reference page, problem details for every
error, and the operational routes (services, streams, dead letters, config, schedules, triggers).

A real nats-server with each service's NATS user; the real gateway app (as the gateway user),
called over ASGI; memory-writer stood in for by a responder speaking its real read contract.
"""

from __future__ import annotations

import asyncio
import json
import os
import stat
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import msgspec
import nats
import pytest
import uvicorn
from nats.aio.client import Client
from nats.aio.msg import Msg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from tests.conftest import connect_as

from animas_contracts import (
    AnimaListReply,
    AnimaSummary,
    CronDue,
    DeadLetter,
    MemoryReadReply,
    MemoryReadRequest,
    ScheduledBy,
    decode_event,
)
from animas_contracts.subjects import (
    ACTIVITY_STREAM,
    DEADLETTER_STREAM,
    HEADER_MSG_ID,
    RPC_MEMORY_ANIMAS,
    RPC_MEMORY_READ_ALL,
    deadletter_subject,
    rpc_subject,
    stored_activity_filter,
)
from animas_core.runtime import ServiceRuntime
from animas_core.settings import NatsSettings
from animas_gateway.app import create_app, operations_of
from animas_gateway.settings import GatewaySettings
from animas_tools.nats_server import NatsUser

pytestmark = [pytest.mark.nats]

NOW = datetime(2026, 3, 6, 8, 30, tzinfo=UTC)  # a Friday
FILES = {
    "status.json": json.dumps(
        {"enabled": True, "role": "writer", "supervisor": "boss", "timezone": "Asia/Tokyo"}
    ),
    "identity.md": "# Sample\nI write.\n",
    "injection.md": "# Injection\nBe brief.\n",
    "heartbeat.md": "## Execution Interval\nevery 30 minutes\n",
    "cron.md": "## Weekly report (every Friday 17:00)\nWrite the report.\n\n## Broken (every blue moon)\nx\n",
}
CONFIG = {
    "version": 1,
    "credentials": {"openai": {"api_key": "sk-secret-value", "base_url": "http://127.0.0.1:9/v1"}},
    "anima_defaults": {"model": "openai/gpt-4o-mini", "credential": "openai"},
    "api": {"tokens": {"ci": {"scope": "chat", "sha256": "a" * 64}}},
}


@pytest.fixture
async def api(
    tmp_path: Path, secured_nats: tuple[str, dict[str, NatsUser]]
) -> AsyncIterator[tuple[httpx.AsyncClient, Starlette, Client, Path]]:
    url, users = secured_nats
    writer = await connect_as(url, users["memory-writer"])
    admin = await nats.connect(url, user="admin", password=users["admin"].password)

    async def animas(msg: Msg) -> None:
        summary = AnimaSummary(
            name="sample", enabled=True, role="writer", status=json.loads(FILES["status.json"])
        )
        await msg.respond(msgspec.json.encode(AnimaListReply(animas=[summary])))

    async def read(msg: Msg) -> None:
        request = msgspec.json.decode(msg.data, type=MemoryReadRequest)
        content = FILES.get(request.path) if msg.subject == rpc_subject("memory", "read", "sample") else None
        await msg.respond(msgspec.json.encode(MemoryReadReply(ok=content is not None, content=content)))

    await writer.subscribe(RPC_MEMORY_ANIMAS, cb=animas)
    await writer.subscribe(RPC_MEMORY_READ_ALL, cb=read)
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(CONFIG))
    settings = GatewaySettings(home=tmp_path, gateway_port=0)
    runtime = ServiceRuntime(
        "gateway", settings, NatsSettings(url=url, user="gateway", password=users["gateway"].password)
    )
    await runtime.connect()
    await runtime.start()
    app = create_app(runtime, settings, clock=lambda: NOW)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    base = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            yield client, app, admin, config_path
    finally:
        server.should_exit = True
        await serving
        await runtime.stop()
        await admin.close()
        await writer.close()


def _is_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail", "error"} <= set(body)
    assert body["status"] == status and body["error"] == body["detail"]
    return body


async def test_the_document_describes_every_route_and_every_body(api: Any) -> None:
    client, app, _, _ = api
    document = (await client.get("/openapi.json")).json()
    assert document["openapi"] == "3.1.0"
    served = {(op.method.lower(), op.path) for op in operations_of(app) if op.in_schema}
    described = {(method, path) for path, item in document["paths"].items() for method in item}
    assert served == described
    schemas = document["components"]["schemas"]
    for op in operations_of(app):
        if not op.in_schema:
            continue
        item = document["paths"][op.path][op.method.lower()]
        for kind in (op.body, op.response, *(k for _, k in op.also)):
            if kind is not None and isinstance(kind, type):
                assert kind.__name__ in schemas, (op.path, kind)
        successes = {str(op.status), *(str(status) for status, _ in op.also)}
        for status, answer in item["responses"].items():
            if status not in successes:
                ref = answer["content"]["application/problem+json"]["schema"]["$ref"]
                assert ref == "#/components/schemas/Problem"
        declared = {p["name"] for p in item["parameters"] if p["in"] == "path"}
        assert declared == {w.strip("{}") for w in op.path.split("/") if w.startswith("{")}, op.path
        assert ("security" in item) == (op.scope is not None)
    refs = {m for m in json.dumps(document).split('"#/components/schemas/')[1:]}
    assert {r.split('"', 1)[0] for r in refs} <= set(schemas)
    # The reference page is the same document, rendered: every route and every schema is on it.
    page = await client.get("/api/reference")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for method, path in described:
        assert f"<code>{path}</code>" in page.text and method.upper() in page.text
    assert all(f'id="schema-{name}"' in page.text for name in schemas)
    assert "<script" not in page.text and "src=" not in page.text  # nothing loaded from elsewhere


async def test_every_error_is_a_problem(api: Any) -> None:
    client, app, _, _ = api
    _is_problem(await client.get("/api/nothing-here"), 404)
    _is_problem(await client.delete("/api/animas"), 405)
    _is_problem(await client.get("/api/animas/nobody"), 404)
    _is_problem(await client.post("/api/animas/sample/trigger", content=b"{not json"), 400)
    _is_problem(await client.post("/api/animas/sample/trigger", json={"kind": "sometimes"}), 422)
    _is_problem(await client.get("/api/deadletters?cursor=-1"), 422)
    body = _is_problem(await client.put("/api/config", content=b"\xff\xfe"), 400)
    assert "UTF-8" in body["detail"]

    async def broken(_: Request) -> Response:
        raise RuntimeError("a bug with a secret in its message")

    app.router.routes.append(Route("/api/broken", broken))
    body = _is_problem(await client.get("/api/broken"), 500)
    assert "secret" not in body["detail"]
    elsewhere = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("192.0.2.7", 1)), base_url="http://g"
    )
    async with elsewhere:
        refused = await elsewhere.get("/api/animas")
        _is_problem(refused, 401)
        assert refused.headers["www-authenticate"].startswith("Bearer")
        # The description and the health probe are public.
        assert (await elsewhere.get("/openapi.json")).status_code == 200
        assert (await elsewhere.get("/api/reference")).status_code == 200
        assert (await elsewhere.get("/api/health")).json() == {"ok": True, "service": "gateway"}


async def test_one_anima_with_its_identity_and_injection(api: Any) -> None:
    client, *_ = api
    response = await client.get("/api/animas/sample")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "name": "sample",
        "role": "writer",
        "enabled": True,
        "supervisor": "boss",
        "model": "openai/gpt-4o-mini",
        "identity": FILES["identity.md"],
        "injection": FILES["injection.md"],
    }
    # An injection edit refuses what an identity edit refuses, before anything is published.
    _is_problem(await client.put("/api/animas/sample/injection", json={"content": "x", "author": "me"}), 422)
    _is_problem(await client.put("/api/animas/sample/injection", json={"content": "a\u0007b"}), 422)
    _is_problem(await client.put("/api/animas/nobody/injection", json={"content": "hi"}), 404)


async def test_services_streams_and_dead_letters(api: Any) -> None:
    client, _, admin, _ = api
    services = (await client.get("/api/services")).json()["items"]
    gateway = [s for s in services if s["name"] == "gateway"]
    assert gateway and gateway[0]["status"] == "ready" and gateway[0]["since"]
    streams = {s["name"]: s for s in (await client.get("/api/streams")).json()["items"]}
    assert {ACTIVITY_STREAM, DEADLETTER_STREAM, "KV_SERVICES", "KV_SCHEDULES"} == set(streams)
    assert streams["KV_SERVICES"]["messages"] >= 1

    js = admin.jetstream()
    for n in range(3):
        letter = DeadLetter(
            service="outbound", reason=f"poison {n}", subject="activity.sample.x", headers={}, data=b"p" * 300
        )
        await js.publish(
            deadletter_subject("outbound"), msgspec.json.encode(letter), headers={HEADER_MSG_ID: f"dl-{n}"}
        )
    first = (await client.get("/api/deadletters?limit=2")).json()
    assert [i["reason"] for i in first["items"]] == ["poison 0", "poison 1"]
    assert (
        first["items"][0]["payload_preview"].startswith("ppp")
        and len(first["items"][0]["payload_preview"]) < 300
    )
    second = (await client.get(f"/api/deadletters?limit=2&cursor={first['next_cursor']}")).json()
    assert [i["reason"] for i in second["items"]] == ["poison 2"] and second["next_cursor"] is None


async def test_config_is_masked_and_a_write_is_checked(api: Any) -> None:
    client, _, _, path = api
    shown = (await client.get("/api/config")).json()
    assert shown["credentials"]["openai"]["api_key"] == "***"
    assert shown["api"]["tokens"]["ci"]["sha256"] == "***"
    assert "sk-secret-value" not in json.dumps(shown) and "a" * 64 not in json.dumps(shown)

    before = path.read_bytes()
    wrong = {**shown, "anima_defaults": {"max_tokens": -1}}
    body = _is_problem(await client.put("/api/config", json=wrong), 422)
    assert "anima_defaults.max_tokens" in body["detail"]
    assert path.read_bytes() == before
    unknown = {**shown, "credentials": {"other": {"api_key": "***"}}}
    _is_problem(await client.put("/api/config", json=unknown), 422)
    assert path.read_bytes() == before

    changed = {**shown, "system": {**shown["system"], "timezone": "Asia/Tokyo"}}
    written = await client.put("/api/config", json=changed)
    assert written.status_code == 200, written.text
    assert written.json()["credentials"]["openai"]["api_key"] == "***"
    on_disk = json.loads(path.read_text())
    assert on_disk["system"]["timezone"] == "Asia/Tokyo"
    assert on_disk["credentials"]["openai"]["api_key"] == "sk-secret-value"  # "***" kept the key
    assert on_disk["api"]["tokens"]["ci"]["sha256"] == "a" * 64
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".config.")] == []
    assert (await client.get("/api/config")).json()["system"]["timezone"] == "Asia/Tokyo"


async def test_schedule_and_a_manual_trigger(api: Any) -> None:
    client, _, admin, _ = api
    plan = (await client.get("/api/animas/sample/schedule?count=2")).json()
    assert plan["timezone"] == "Asia/Tokyo"
    # 08:30 UTC is 17:30 in Tokyo: every 30 minutes fires at 18:00 and 18:30 there.
    assert plan["heartbeat"]["next"] == ["2026-03-06T18:00:00+09:00", "2026-03-06T18:30:00+09:00"]
    report, broken = plan["cron"]
    assert report["task"] == "Weekly report" and report["next"] == [
        "2026-03-13T17:00:00+09:00",
        "2026-03-20T17:00:00+09:00",
    ]
    assert broken["error"] and broken["next"] == []
    _is_problem(await client.get("/api/animas/sample/schedule?count=0"), 422)
    _is_problem(await client.get("/api/animas/nobody/schedule"), 404)
    _is_problem(await client.get("/api/animas/No%07body/schedule"), 422)  # never a NATS subject

    _is_problem(await client.post("/api/animas/sample/trigger", json={"kind": "cron", "task": "Nope"}), 422)
    _is_problem(await client.post("/api/animas/sample/trigger", json={"kind": "cron", "task": "Broken"}), 422)
    _is_problem(await client.post("/api/animas/sample/trigger", json={"kind": "heartbeat", "task": "x"}), 422)
    fired = await client.post("/api/animas/sample/trigger", json={"kind": "cron", "task": "Weekly report"})
    assert fired.status_code == 202, fired.text
    event_id = fired.json()["event_id"]
    js = admin.jetstream()
    subject = stored_activity_filter(anima="sample", event_type="cron.due")
    event = decode_event((await js.get_last_msg(ACTIVITY_STREAM, subject)).data)
    assert isinstance(event, CronDue)
    assert event.id == event_id and event.producer == "gateway"
    assert event.task == "Weekly report" and event.scheduled_by is ScheduledBy.MANUAL
