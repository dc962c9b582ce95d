"""The memory routes over a real nats-server: browse, read, a person's knowledge edit, search, an
answer's priming, and seed 002's anima per external id, extracted events and memory pack.

A nats-server with each service's user and rights, provisioned as ``anima up`` leaves it. The
gateway's routes run in a Starlette app of their own operations, publish and read as the
gateway's user, and are called over HTTP (httpx's ASGI transport, from loopback: the caller is
``local``). memory-writer's real applier and read server run in-process: reads as its own user,
and the events the gateway stores are applied as they pass (the operator's connection listens,
as memory-writer's durable would deliver them) and answered with memory-writer's outcome events.
priming's search answers with fixed hits, as priming's user.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import msgspec
import nats
import pytest
from nats.aio.client import Client as Nats
from nats.aio.msg import Msg
from starlette.applications import Starlette
from starlette.middleware import Middleware
from tests.conftest import connect_as

from animas_contracts import (
    AnimaCreated,
    Body,
    CycleStarted,
    Event,
    SearchHit,
    SearchReply,
    SearchRequest,
    Trigger,
    decode_event,
    encode_event,
)
from animas_contracts.subjects import (
    HEADER_EVENT_TYPE,
    HEADER_MSG_ID,
    RPC_MEMORY_ANIMAS,
    RPC_MEMORY_READ_ALL,
    activity_subject,
)
from animas_core.anima_files import AnimaSpec, blank_files
from animas_core.api_config import ApiConfig
from animas_core.config import AnimaWorksConfig, CachedConfig
from animas_core.home import Home
from animas_core.waiter import OUTCOME_SUBJECT, EventWaiter, outcome_key
from animas_gateway.api import memory_browser, memory_service
from animas_gateway.auth import Authentication
from animas_gateway.directory import AnimaDirectory
from animas_gateway.operations import openapi_document, routes
from animas_memory_writer.applier import MemoryApplier
from animas_memory_writer.handlers import outcome_event
from animas_memory_writer.reads import ReadServer
from animas_tools.nats_server import NatsUser

pytestmark = [pytest.mark.nats]

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
SEARCHED: list[tuple[str, SearchRequest]] = []


class Publisher:
    """Stores events as the gateway's publisher does (the event id as Nats-Msg-Id)."""

    def __init__(self, nc: Nats) -> None:
        self._js = nc.jetstream()

    async def publish(self, event: Event) -> Any:
        headers = {HEADER_MSG_ID: event.id, HEADER_EVENT_TYPE: event.event_type}
        return await self._js.publish(
            activity_subject(event.anima, event.event_type), encode_event(event), headers=headers
        )


@pytest.fixture
async def client(
    tmp_path: Path, secured_nats: tuple[str, dict[str, NatsUser]]
) -> AsyncIterator[tuple[httpx.AsyncClient, MemoryApplier, Nats]]:
    url, users = secured_nats
    admin = await nats.connect(url, user="admin", password=users["admin"].password)
    writer = await connect_as(url, users["memory-writer"])
    priming = await connect_as(url, users["priming"])
    gateway = await connect_as(url, users["gateway"])
    home = Home(tmp_path / "home")
    applier = MemoryApplier(home, CachedConfig(tmp_path / "config.json"))
    outcomes = EventWaiter(OUTCOME_SUBJECT, outcome_key)
    try:
        created = AnimaCreated(
            anima="alice",
            correlation_id="c",
            producer="test",
            source="blank",
            files=blank_files(AnimaSpec(name="alice")),
        )
        assert (outcome := applier.apply(created)) is not None and outcome.applied

        async def apply(msg: Msg) -> None:
            event = decode_event(msg.data)
            outcome = await asyncio.to_thread(applier.apply, event)
            if outcome is not None:
                await Publisher(admin).publish(outcome_event(event, outcome))

        async def search(msg: Msg) -> None:
            request = msgspec.json.decode(msg.data, type=SearchRequest)
            SEARCHED.append((msg.subject, request))
            hit = SearchHit(
                path=f"{request.scope}/2025-08-01.md" if request.scope != "all" else "knowledge/cats.md",
                heading="16:05 fact",
                date="2025-08-01",
                snippet=f"found for {request.query}",
                score=0.9,
            )
            await msg.respond(msgspec.json.encode(SearchReply(hits=[hit])))

        await admin.subscribe("activity.*.anima.>", cb=apply)
        await admin.subscribe("activity.*.memory.extracted", cb=apply)
        reads = ReadServer(home)
        await writer.subscribe(RPC_MEMORY_ANIMAS, cb=reads.on_list)
        await writer.subscribe(RPC_MEMORY_READ_ALL, cb=reads.on_read)
        await priming.subscribe("rpc.priming.search.*", cb=search)
        for nc in (admin, writer, priming):
            await nc.flush()
        await outcomes.start(gateway)
        directory = AnimaDirectory(gateway, ttl_s=0)
        publisher = Publisher(gateway)
        ops = [
            *memory_browser.operations(gateway, publisher, outcomes, directory, AnimaWorksConfig),
            *memory_service.operations(
                gateway, publisher, outcomes, directory, AnimaWorksConfig, lambda: NOW
            ),
        ]
        assert set(openapi_document(ops, title="t", version="1")["paths"]) == {op.path for op in ops}
        app = Starlette(routes=routes(ops), middleware=[Middleware(Authentication, api_config=ApiConfig)])
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as http:
            yield http, applier, admin
    finally:
        await outcomes.stop()
        applier.close()
        for nc in (gateway, priming, writer, admin):
            await nc.close()


async def test_a_person_edits_knowledge_and_reads_it_back(
    client: tuple[httpx.AsyncClient, MemoryApplier, Nats],
) -> None:
    http, applier, _ = client
    answer = await http.put(
        "/api/animas/alice/memory/file", json={"path": "knowledge/cats.md", "text": "# Cats\nMiso is grey.\n"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "applied" and answer.json()["paths"] == ["knowledge/cats.md"]
    assert applier.directory("alice").read_text("knowledge/cats.md") == "# Cats\nMiso is grey.\n"

    listing = (await http.get("/api/animas/alice/memory", params={"dir": "knowledge"})).json()
    assert {"path": "knowledge/cats.md", "kind": "file"} in listing["items"]
    top = (await http.get("/api/animas/alice/memory")).json()["items"]
    assert {"path": "knowledge", "kind": "dir"} in top and {"path": "identity.md", "kind": "file"} in top
    read = (await http.get("/api/animas/alice/memory/file", params={"path": "knowledge/cats.md"})).json()
    assert read == {"path": "knowledge/cats.md", "text": "# Cats\nMiso is grey.\n", "truncated": False}


async def test_the_author_of_an_edit_is_the_caller_and_only_knowledge_is_editable(
    client: tuple[httpx.AsyncClient, MemoryApplier, Nats],
) -> None:
    http, _, admin = client
    refused = [
        ({"path": "knowledge/x.md", "text": "t", "author": "someone-else"}, 422),
        ({"path": "identity.md", "text": "t"}, 422),
        ({"path": "knowledge/../identity.md", "text": "t"}, 422),
        ({"path": "knowledge/x.py", "text": "t"}, 422),
    ]
    for body, status in refused:
        answer = await http.put("/api/animas/alice/memory/file", json=body)
        assert answer.status_code == status, body
        assert answer.headers["content-type"] == "application/problem+json"
    assert (
        await http.put("/api/animas/nobody/memory/file", json={"path": "knowledge/x.md", "text": "t"})
    ).status_code == 404
    ok = await http.put("/api/animas/alice/memory/file", json={"path": "knowledge/x.md", "text": "t"})
    stored = await admin.jetstream().get_last_msg("ACTIVITY", "activity.*.alice.anima.file.written")
    event = decode_event(stored.data or b"")
    assert event.id == ok.json()["op_id"] and getattr(event, "author", None) == "local"


async def test_reads_of_what_is_not_there_are_404(
    client: tuple[httpx.AsyncClient, MemoryApplier, Nats],
) -> None:
    http, _, _ = client
    assert (
        await http.get("/api/animas/alice/memory/file", params={"path": "knowledge/none.md"})
    ).status_code == 404
    assert (await http.get("/api/animas/alice/memory", params={"dir": "nothing"})).status_code == 404
    assert (await http.get("/api/animas/nobody/memory")).status_code == 404
    assert (await http.get("/api/animas/Bad.Name/memory")).status_code == 422
    assert (await http.get("/api/animas/alice/memory/file")).status_code == 422


async def test_search_asks_priming_for_that_anima_only(
    client: tuple[httpx.AsyncClient, MemoryApplier, Nats],
) -> None:
    http, _, _ = client
    SEARCHED.clear()
    answer = await http.get("/api/animas/alice/memory/search", params={"q": "cat", "limit": "5"})
    assert answer.status_code == 200
    assert answer.json()["items"] == [
        {
            "path": "knowledge/cats.md",
            "heading": "16:05 fact",
            "text": "found for cat",
            "score": 0.9,
            "memory_type": "knowledge",
            "date": "2025-08-01",
        }
    ]
    assert [(s, r.limit) for s, r in SEARCHED] == [("rpc.priming.search.alice", 5)]
    assert (
        await http.get("/api/animas/alice/memory/search", params={"q": "cat", "limit": "99"})
    ).status_code == 422


async def test_the_priming_an_answer_used_comes_from_its_cycle(
    client: tuple[httpx.AsyncClient, MemoryApplier, Nats],
) -> None:
    http, _, admin = client
    inputs = {"prompt_inputs": {"priming": "## Related\n- Miso is grey", "recent_activity": "- asked"}}
    cycle = CycleStarted(
        anima="alice",
        correlation_id="corr-1",
        producer="agent-runner",
        trigger=Trigger.MESSAGE,
        trigger_event_id="m1",
        model="openai/x",
        inputs=Body(size=10, digest="sha256:0", inline=inputs),
    )
    await Publisher(admin).publish(cycle)
    answer = (await http.get("/api/animas/alice/priming", params={"correlation_id": "corr-1"})).json()
    assert answer["correlation_id"] == "corr-1"
    assert [(i["cycle_id"], i["priming"], i["recent_activity"]) for i in answer["items"]] == [
        (cycle.id, "## Related\n- Miso is grey", "- asked")
    ]
    assert (
        await http.get("/api/animas/alice/priming", params={"correlation_id": "other"})
    ).status_code == 404


async def test_an_application_gets_one_anima_stores_events_and_packs_them(
    client: tuple[httpx.AsyncClient, MemoryApplier, Nats],
) -> None:
    http, applier, _ = client
    first = await http.post("/api/memory/animas", json={"external_id": "user:42", "name": "Kim"})
    assert first.status_code == 201, first.text
    anima = first.json()["anima"]
    assert first.json() == {"anima": anima, "external_id": "user:42", "created": True}
    second = await http.post("/api/memory/animas", json={"external_id": "user:42"})
    assert (second.status_code, second.json()["created"], second.json()["anima"]) == (200, False, anima)
    assert '"external_id": "user:42"' in (applier.directory(anima).read_text("status.json") or "")

    old = NOW - timedelta(days=200)
    events = [
        {"type": "fact", "content": "Kim's cat is Miso", "time": old.isoformat(), "id": "e1"},
        {"type": "message_in", "content": "hello again", "session_id": "s1", "author": "kim", "id": "e2"},
    ]
    stored = await http.post(f"/api/memory/{anima}/events", json={"events": events})
    assert stored.status_code == 202 and stored.json()["accepted"] == 2
    repeat = await http.post(f"/api/memory/{anima}/events", json={"events": events[:1]})
    assert repeat.json()["event_ids"] == stored.json()["event_ids"][:1]
    naive = {"events": [{"type": "fact", "content": "x", "time": "2025-01-01T00:00:00"}]}
    assert (await http.post(f"/api/memory/{anima}/events", json=naive)).status_code == 422
    assert (await http.post("/api/memory/nobody/events", json={"events": events})).status_code == 404

    today = f"episodes/{NOW.date().isoformat()}.md"

    async def applied() -> None:
        while "hello again" not in (applier.directory(anima).read_text(today) or ""):
            await asyncio.sleep(0.05)

    await asyncio.wait_for(applied(), 10)
    assert "Kim's cat is Miso" in (
        applier.directory(anima).read_text(f"episodes/{old.date().isoformat()}.md") or ""
    )

    pack = (
        await http.get(
            f"/api/memory/{anima}/pack", params={"query": "cat", "session_id": "s1", "max_tokens": "800"}
        )
    ).json()
    assert pack["identity"].startswith(f"# Identity: {anima}") and "Kim" in pack["identity"]
    assert [i["text"].splitlines()[1] for i in pack["session"]] == ["- Said: hello again"]
    assert pack["long_term"][0]["text"] == "found for cat" and pack["knowledge"][0]["path"].startswith(
        "knowledge/"
    )
    assert pack["temporal"]["now"].startswith("2026-03-01") and 0 < pack["tokens"] <= 800
    assert (await http.get(f"/api/memory/{anima}/pack", params={"max_tokens": "5"})).status_code == 422
