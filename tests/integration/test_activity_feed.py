"""The timeline, the live feed, the org chart and cycles against a real nats-server, over real HTTP.

The gateway's operations run as its own NATS user (so every read is one it is allowed: direct
gets, no consumer) in a Starlette app served by uvicorn on a loopback port; events are published
as the operator while clients read. The live feed must resume after a dropped connection with
exactly the stored sequences: no gap, no duplicate (SSE with Last-Event-ID, WebSocket with after=).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import msgspec
import nats
import pytest
import uvicorn
import wsproto
import wsproto.events
from nats.aio.client import Client
from nats.aio.msg import Msg
from starlette.applications import Starlette
from starlette.middleware import Middleware
from tests.conftest import connect_as
from tests.recorded_cycle import record_cycle

from animas_agent_runner.adapters.stored_bodies import stored_body
from animas_agent_runner.replay import replay_responder
from animas_contracts import (
    AnimaListReply,
    AnimaSummary,
    CycleStarted,
    Event,
    MessageReceived,
    Trigger,
    encode_event,
)
from animas_contracts.subjects import (
    BODIES_BUCKET,
    HEADER_MSG_ID,
    RPC_AGENT_REPLAY,
    RPC_MEMORY_ANIMAS,
    activity_subject,
)
from animas_core.api_config import ApiConfig
from animas_core.streams import read_stored
from animas_gateway.api import cycles, feed, org, timeline
from animas_gateway.api.activity import Filters
from animas_gateway.api.tailer import Dropped, Tailer
from animas_gateway.auth import Authentication
from animas_gateway.directory import AnimaDirectory
from animas_gateway.operations import routes
from animas_tools.nats_server import NatsUser

pytestmark = [pytest.mark.nats]


@dataclasses.dataclass
class Gateway:
    url: str
    port: int
    admin: Client
    tailer: Tailer

    async def publish(self, event: Event, subject: str | None = None) -> None:
        subject = subject or activity_subject(event.anima, event.event_type)
        await self.admin.jetstream().publish(subject, encode_event(event), headers={HEADER_MSG_ID: event.id})

    async def stored_seqs(self, subject: str = "activity.>") -> list[int]:
        return [m.metadata.sequence.stream async for m in read_stored(self.admin.jetstream(), subject)]


def message(anima: str, n: int, correlation: str = "c") -> MessageReceived:
    return MessageReceived(
        anima=anima, correlation_id=correlation, producer="test", text=f"m{n}", sender="tanaka", thread_id="t"
    )


@pytest.fixture
async def gateway(secured_nats: tuple[str, dict[str, NatsUser]]) -> AsyncIterator[Gateway]:
    url, users = secured_nats
    nc = await connect_as(url, users["gateway"])
    admin = await nats.connect(url, user="admin", password=users["admin"].password)
    writer = await connect_as(url, users["memory-writer"])
    runner = await connect_as(url, users["agent-runner"])
    animas = [
        AnimaSummary(
            name="alice", enabled=True, role="engineer", status={"supervisor": "bob", "model": "openai/x"}
        ),
        AnimaSummary(name="bob", enabled=False, role="manager"),
        AnimaSummary(name="carol", enabled=True),
    ]

    async def directory(msg: Msg) -> None:
        await msg.respond(msgspec.json.encode(AnimaListReply(animas=animas)))

    await writer.subscribe(RPC_MEMORY_ANIMAS, cb=directory)

    async def body(digest: str) -> bytes | None:  # as agent-runner's own user reads it
        return await stored_body(runner.jetstream(), digest)

    await runner.subscribe(RPC_AGENT_REPLAY, queue="agent-runner", cb=replay_responder(body))
    js = nc.jetstream()
    tailer = Tailer(js, poll_s=0.05, queue_size=50)
    ops = [
        *timeline.operations(js),
        *feed.operations(tailer, keep_alive_s=0.3),
        *org.operations(js, AnimaDirectory(nc)),
        *cycles.operations(nc),
    ]
    app = Starlette(
        routes=[*routes(ops), *feed.websocket_routes(tailer, ApiConfig)],
        middleware=[Middleware(Authentication, api_config=ApiConfig)],
    )
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=0, log_config=None, ws="wsproto", timeout_graceful_shutdown=2
        )
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield Gateway(f"http://127.0.0.1:{port}", port, admin, tailer)
    finally:
        server.should_exit = True
        await serving
        await tailer.stop()
        for conn in (runner, writer, admin, nc):
            await conn.close()


async def sse_items(response: httpx.Response) -> AsyncIterator[tuple[int | None, dict[str, Any] | None, str]]:
    """(id, data, comment) per frame."""
    seq: int | None = None
    data, comment = "", ""
    async for line in response.aiter_lines():
        if line.startswith(":"):
            comment = line[1:].strip()
        elif line.startswith("id: "):
            seq = int(line[4:])
        elif line.startswith("data: "):
            data += line[6:]
        elif not line:
            if data or comment:
                yield seq, json.loads(data) if data else None, comment
            seq, data, comment = None, "", ""


async def read_sse(
    client: httpx.AsyncClient,
    count: int,
    headers: dict[str, str],
    query: str = "",
    on_connected: Callable[[], Awaitable[None]] | None = None,
) -> list[dict[str, Any]]:
    """The first ``count`` items of a feed; ``on_connected`` runs once the stream is open."""
    got: list[dict[str, Any]] = []
    async with (
        asyncio.timeout(30),
        client.stream("GET", f"/api/events/stream{query}", headers=headers) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        async for seq, data, comment in sse_items(response):
            if comment == "connected" and on_connected is not None:
                await on_connected()
            if data is not None:
                assert seq == data["seq"]
                got.append(data)
                if len(got) == count:
                    break
    return got


async def gone_from_the_tailer(gw: Gateway) -> None:
    for _ in range(100):
        if gw.tailer.subscribers == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{gw.tailer.subscribers} subscribers left behind")


async def keep_publishing(gw: Gateway, start: int, count: int) -> None:
    for n in range(start, start + count):
        await gw.publish(message("alice" if n % 2 else "bob", n))
        await asyncio.sleep(0.01)


async def test_the_feed_resumes_after_a_dropped_connection_with_no_gap_and_no_duplicate(
    gateway: Gateway,
) -> None:
    for n in range(10):
        await gateway.publish(message("alice" if n % 2 else "bob", n))
    async with httpx.AsyncClient(base_url=gateway.url, timeout=20) as client:
        first = await read_sse(client, 4, {"Last-Event-ID": "0"})
        assert [i["seq"] for i in first] == [1, 2, 3, 4]
        assert first[0]["type"] == "message.received" and first[0]["anima_state"] is None
        assert first[0]["summary"] == "tanaka → bob: m0"
        publishing = asyncio.create_task(keep_publishing(gateway, 10, 30))
        # Dropped; while events keep coming, the client reconnects from the last id it saw.
        second = await read_sse(client, 36, {"Last-Event-ID": str(first[-1]["seq"])})
        await publishing
    seen = [i["seq"] for i in first + second]
    assert seen == await gateway.stored_seqs() == list(range(1, 41))
    await gone_from_the_tailer(gateway)  # a closed stream leaves no subscriber behind
    assert [i["event"]["text"] for i in first + second] == [f"m{n}" for n in range(40)]


async def test_without_a_cursor_the_feed_starts_at_the_end_and_filters_by_anima_and_type(
    gateway: Gateway,
) -> None:
    await gateway.publish(message("alice", 0))
    started = CycleStarted(
        anima="alice",
        correlation_id="c",
        producer="test",
        trigger=Trigger.MESSAGE,
        trigger_event_id="x",
        model=None,
    )

    async def later() -> None:  # once the feed is open (it starts at the stream's end then)
        await gateway.publish(message("bob", 1))
        await gateway.publish(message("alice", 2))
        await gateway.publish(started)

    async with httpx.AsyncClient(base_url=gateway.url, timeout=20) as client:
        got = await read_sse(client, 1, {}, "?anima=alice&type=cycle.", on_connected=later)
        assert [(i["seq"], i["type"], i["anima_state"]) for i in got] == [(4, "cycle.started", "thinking")]
        again = await read_sse(client, 2, {}, "?anima=alice&last_event_id=0")
        assert [i["seq"] for i in again] == [1, 3]
        bad = await client.get("/api/events/stream?last_event_id=x")
        assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"


async def test_an_idle_feed_sends_keep_alive_comments(gateway: Gateway) -> None:
    async with (
        asyncio.timeout(30),
        httpx.AsyncClient(base_url=gateway.url, timeout=20) as client,
        client.stream("GET", "/api/events/stream") as response,
    ):
        comments = []
        async for _, data, comment in sse_items(response):
            assert data is None
            comments.append(comment)
            if len(comments) == 3:
                break
    assert comments[0] == "connected" and comments[1:] == ["keep-alive", "keep-alive"]


class WebSocketClient:
    """A minimal WebSocket client over asyncio streams (wsproto), enough to read text messages."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, ws: wsproto.WSConnection
    ) -> None:
        self._reader, self._writer, self._ws = reader, writer, ws
        self._pending: list[wsproto.events.Event] = []

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(
        cls, port: int, target: str, origin: str | None = None
    ) -> AsyncIterator[WebSocketClient]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        ws = wsproto.WSConnection(wsproto.ConnectionType.CLIENT)
        headers = [(b"origin", origin.encode())] if origin else []
        writer.write(
            ws.send(wsproto.events.Request(host=f"127.0.0.1:{port}", target=target, extra_headers=headers))
        )
        client = cls(reader, writer, ws)
        try:
            event = await client._next()
            if isinstance(event, wsproto.events.RejectConnection):
                raise ConnectionRefusedError(event.status_code)
            if not isinstance(event, wsproto.events.AcceptConnection):
                raise ConnectionRefusedError(repr(event))
            yield client
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _next(self) -> wsproto.events.Event:
        while not self._pending:
            data = await self._reader.read(65536)
            self._ws.receive_data(data or None)
            self._pending.extend(self._ws.events())
        return self._pending.pop(0)

    async def text(self) -> str | int:
        """The next text message, or the close code."""
        buffer = ""
        while True:
            event = await self._next()
            if isinstance(event, wsproto.events.TextMessage):
                buffer += event.data
                if event.message_finished:
                    return buffer
            elif isinstance(event, wsproto.events.CloseConnection):
                return event.code


async def test_the_websocket_feed_resumes_after_a_drop_with_no_gap_and_no_duplicate(gateway: Gateway) -> None:
    for n in range(6):
        await gateway.publish(message("alice", n))
    first: list[dict[str, Any]] = []
    async with WebSocketClient.connect(gateway.port, "/api/events/ws?after=0") as ws:
        for _ in range(3):
            text = await ws.text()
            assert isinstance(text, str)
            first.append(json.loads(text))
    publishing = asyncio.create_task(keep_publishing(gateway, 6, 20))
    second: list[dict[str, Any]] = []
    async with WebSocketClient.connect(gateway.port, f"/api/events/ws?after={first[-1]['seq']}") as ws:
        while len(second) < 23:
            text = await asyncio.wait_for(ws.text(), 20)
            assert isinstance(text, str)
            second.append(json.loads(text))
    await publishing
    assert [i["seq"] for i in first + second] == await gateway.stored_seqs() == list(range(1, 27))
    await gone_from_the_tailer(gateway)
    assert "anima_state" in second[0]
    async with WebSocketClient.connect(gateway.port, "/api/events/ws?after=nope") as ws:
        assert await ws.text() == 4422
    # A page of this gateway may open it; a page of another site may not (loopback needs no token).
    async with WebSocketClient.connect(gateway.port, "/api/events/ws", f"http://127.0.0.1:{gateway.port}"):
        pass
    with pytest.raises(ConnectionRefusedError, match="403"):
        async with WebSocketClient.connect(gateway.port, "/api/events/ws", "http://evil.example"):
            pass


async def test_a_client_that_does_not_read_is_dropped_and_the_others_go_on(gateway: Gateway) -> None:
    await gateway.publish(message("alice", 0))
    slow = gateway.tailer.follow(Filters(), 0)
    fast = gateway.tailer.follow(Filters(), 0)
    assert (await anext(slow))["seq"] == 1 and (await anext(fast))["seq"] == 1

    async def read_fast() -> list[int]:
        return [(await asyncio.wait_for(anext(fast), 10))["seq"] for _ in range(80)]

    reading = asyncio.create_task(read_fast())
    await keep_publishing(gateway, 1, 80)  # more than the queue of 50 holds
    fast_seqs = await reading
    assert fast_seqs == list(range(2, 82))
    with pytest.raises(Dropped):
        for _ in range(100):
            await asyncio.wait_for(anext(slow), 10)
    await slow.aclose()  # type: ignore[attr-defined]
    await fast.aclose()  # type: ignore[attr-defined]
    assert gateway.tailer.subscribers == 0


async def test_the_timeline_pages_by_sequence_and_filters(gateway: Gateway) -> None:
    for n in range(12):
        await gateway.publish(message("alice" if n % 3 else "bob", n, correlation=f"c{n % 2}"))
    async with httpx.AsyncClient(base_url=gateway.url, timeout=20) as client:
        page1 = (await client.get("/api/events?limit=5")).json()
        assert [i["seq"] for i in page1["items"]] == [1, 2, 3, 4, 5] and page1["next_cursor"] == "6"
        rest = (await client.get(f"/api/events?limit=50&cursor={page1['next_cursor']}")).json()
        assert [i["seq"] for i in rest["items"]] == list(range(6, 13)) and rest["next_cursor"] is None
        item = page1["items"][0]
        assert set(item) == {"seq", "time", "anima", "type", "correlation_id", "id", "summary", "event"}
        bobs = (await client.get("/api/events?anima=bob")).json()
        assert [i["seq"] for i in bobs["items"]] == [1, 4, 7, 10]
        newest = (await client.get("/api/events?order=desc&limit=3&correlation_id=c1")).json()
        assert [i["seq"] for i in newest["items"]] == [12, 10, 8]
        older = (
            await client.get(
                f"/api/events?order=desc&limit=3&correlation_id=c1&cursor={newest['next_cursor']}"
            )
        ).json()
        assert [i["seq"] for i in older["items"]] == [6, 4, 2]
        assert older["next_cursor"] is None  # nothing older
        assert (await client.get("/api/events?type=cycle.")).json()["items"] == []
        future = (await client.get("/api/events?since=2999-01-01T00:00:00Z")).json()
        assert future == {"items": [], "next_cursor": None}
        for bad in ("limit=0", "limit=501", "order=up", "since=yesterday", "anima=NO!", "cursor=-1"):
            response = await client.get(f"/api/events?{bad}")
            assert response.status_code == 422, bad
            assert response.json()["status"] == 422


async def test_the_org_chart_shows_each_animas_state_from_its_latest_events(gateway: Gateway) -> None:
    started = CycleStarted(
        anima="alice",
        correlation_id="c",
        producer="test",
        trigger=Trigger.MESSAGE,
        trigger_event_id="x",
        model=None,
    )
    await gateway.publish(started)
    await gateway.publish(message("alice", 1))  # changes no state
    await gateway.publish(message("bob", 2))
    async with httpx.AsyncClient(base_url=gateway.url, timeout=20) as client:
        chart = (await client.get("/api/org")).json()
    assert chart["animas"] == [
        {
            "name": "alice",
            "role": "engineer",
            "supervisor": "bob",
            "enabled": True,
            "state": "thinking",
            "state_since": started.ts.isoformat().replace("+00:00", "Z"),
            "model": "openai/x",
        },
        {
            "name": "bob",
            "role": "manager",
            "supervisor": None,
            "enabled": False,
            "state": "disabled",
            "state_since": None,
            "model": None,
        },
        {
            "name": "carol",
            "role": None,
            "supervisor": None,
            "enabled": True,
            "state": "idle",
            "state_since": None,
            "model": None,
        },
    ]


async def test_a_recorded_cycle_is_shown_and_replayed_by_agent_runner(
    gateway: Gateway, tmp_path: Path
) -> None:
    # The recipe and prompt are over the inline limit: agent-runner reads them from the object store.
    recorded = await record_cycle(tmp_path, inline_limit=64)
    store = await gateway.admin.jetstream().object_store(BODIES_BUCKET)
    for digest, data in recorded.bodies.items():
        await store.put(digest.replace(":", "-"), data)
    await gateway.publish(message("bob", 0))  # another anima's event in between
    for event in recorded.events:
        await gateway.publish(event)
    events = recorded.events
    cycle_id = next(e.id for e in events if isinstance(e, CycleStarted))
    async with httpx.AsyncClient(base_url=gateway.url, timeout=60) as client:
        shown = (await client.get(f"/api/cycles/{cycle_id}")).json()
        assert shown["cycle_id"] == cycle_id and shown["anima"] == "sample" and shown["trigger"] == "message"
        finished = next(n for n, e in enumerate(events) if e.event_type == "cycle.finished")
        assert [i["type"] for i in shown["events"]] == [e.event_type for e in events[: finished + 1]]
        assert shown["events"][1]["event"]["inputs"]["stored"] is True
        replayed = await client.post(f"/api/cycles/{cycle_id}/replay?anima=sample")
        assert replayed.status_code == 200, replayed.text
        body = replayed.json()
        assert body["matches"] is True and body["diff"] == ""
        assert body["calls_replayed"] == body["calls_recorded"] == 2
        assert "reply: identical to the recorded reply" in body["report"]
        assert (await client.post("/api/cycles/no-such-cycle/replay")).status_code == 404
        assert (await client.get("/api/cycles/no-such-cycle?anima=sample")).status_code == 404
