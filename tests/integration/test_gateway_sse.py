"""Streamed chat: ``POST /api/animas/{name}/chat/stream`` passes model output on while it streams.

A real nats-server with each service's NATS user, the real gateway app served by uvicorn, and
stand-ins speaking the real contracts: memory-writer's anima directory, and an agent-runner that
streams ``model.delta`` pieces on ``delta.<anima>`` (JetStream) before it publishes ``response.sent``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
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
from tests.conftest import connect_as

from animas_contracts import (
    AnimaListReply,
    AnimaSummary,
    DeltaKind,
    Event,
    MessageReceived,
    ModelDelta,
    ResponseOutcome,
    ResponseSent,
    decode_event,
    derive_id,
    encode_event,
    uuid7,
)
from animas_contracts.names import ANIMA_NAME_PATTERN
from animas_contracts.subjects import HEADER_MSG_ID, RPC_MEMORY_ANIMAS, activity_subject, delta_subject
from animas_core.runtime import ServiceRuntime
from animas_core.settings import NatsSettings
from animas_gateway.app import create_app
from animas_gateway.settings import GatewaySettings
from animas_tools.nats_server import NatsUser

pytestmark = [pytest.mark.nats]

PIECES = ["Hel", "lo, ", "wor", "ld", "!"]
SSE = list[tuple[str, dict[str, Any] | None]]


class FakeRunner:
    """agent-runner as the gateway sees it, answering by the message's text. ``stream``: piece 0, then
    (once the client has seen it) the rest, out of order, one twice, then the reply. ``configure``: a
    reply, no pieces. ``hang``: piece 0 and nothing more. ``silence``: nothing at all.
    """

    def __init__(self, nc: Client) -> None:
        self._nc = nc
        self._js = nc.jetstream()
        self.client_saw_first_piece = asyncio.Event()
        self.replied = asyncio.Event()

    async def start(self) -> None:
        await self._nc.subscribe(activity_subject("sample", "message.received"), cb=self._on_message)

    async def _on_message(self, msg: Msg) -> None:
        # One message at a time, as agent-runner runs one cycle per anima at a time.
        event = decode_event(msg.data)
        assert isinstance(event, MessageReceived)
        await self._answer(event)

    async def _publish(self, subject: str, event: Event) -> None:
        await self._js.publish(subject, encode_event(event), headers={HEADER_MSG_ID: event.id})

    @staticmethod
    def _envelope(message: MessageReceived) -> dict[str, Any]:
        return {
            "anima": message.anima,
            "correlation_id": message.correlation_id,
            "causation_id": message.id,
            "producer": "agent-runner",
            "in_reply_to": message.id,
        }

    def _piece(self, message: MessageReceived, seq: int, kind: DeltaKind = DeltaKind.TEXT) -> ModelDelta:
        cycle_id = derive_id(message.id, "cycle")
        text = PIECES[seq] if kind is DeltaKind.TEXT else ""
        piece_id = derive_id(cycle_id, "delta", seq)
        return ModelDelta(
            **self._envelope(message), id=piece_id, cycle_id=cycle_id, seq=seq, kind=kind, text=text
        )

    async def _answer(self, message: MessageReceived) -> None:
        subject = delta_subject(message.anima)
        if message.text in ("stream", "hang"):
            await self._publish(subject, self._piece(message, 0))
            if message.text == "hang":
                return
            await self.client_saw_first_piece.wait()
            # Out of order, and piece 1 twice: a recovering runner may send a piece again under a
            # new envelope id, which JetStream cannot drop as a duplicate, so the gateway must.
            again = msgspec.structs.replace(self._piece(message, 1), id=uuid7())
            pieces = [self._piece(message, seq) for seq in (2, 1, 3)] + [again, self._piece(message, 4)]
            for piece in [*pieces, self._piece(message, 5, DeltaKind.DONE)]:
                await self._publish(subject, piece)
            text, outcome, model = "".join(PIECES), ResponseOutcome.REPLY, "openai/scripted"
        elif message.text == "configure":
            text, outcome, model = "No model is configured.", ResponseOutcome.CONFIGURATION_NEEDED, None
        else:
            return
        reply = ResponseSent(
            **self._envelope(message),
            id=derive_id(message.id, "reply"),
            text=text,
            to=message.sender,
            thread_id=message.thread_id,
            outcome=outcome,
            model=model,
        )
        await self._publish(activity_subject(message.anima, "response.sent"), reply)
        self.replied.set()


Gateway = tuple[str, Starlette, FakeRunner]
StartGateway = Callable[[float, float], contextlib.AbstractAsyncContextManager[Gateway]]


@pytest.fixture
async def start_gateway(
    tmp_path: Path, secured_nats: tuple[str, dict[str, NatsUser]]
) -> AsyncIterator[StartGateway]:
    """Starts the gateway (as its own NATS user) with a chat timeout and keep-alive interval."""
    url, users = secured_nats
    writer = await connect_as(url, users["memory-writer"])
    # The fake runner listens to messages live (the real one has a durable), so it is the operator.
    runner_nc = await nats.connect(url, user="admin", password=users["admin"].password)
    animas = [AnimaSummary(name="sample", enabled=True), AnimaSummary(name="resting", enabled=False)]

    async def directory(msg: Msg) -> None:
        await msg.respond(msgspec.json.encode(AnimaListReply(animas=animas)))

    await writer.subscribe(RPC_MEMORY_ANIMAS, cb=directory)

    @contextlib.asynccontextmanager
    async def start(timeout_s: float, keepalive_s: float) -> AsyncIterator[Gateway]:
        settings = GatewaySettings(
            home=tmp_path, gateway_port=0, chat_timeout_s=timeout_s, sse_keepalive_s=keepalive_s
        )
        as_gateway = NatsSettings(url=url, user="gateway", password=users["gateway"].password)
        runtime = ServiceRuntime("gateway", settings, as_gateway)
        await runtime.connect()
        await runtime.start()
        runner = FakeRunner(runner_nc)
        await runner.start()
        app = create_app(runtime, settings)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None))
        serving = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.02)
        try:
            yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}", app, runner
        finally:
            server.should_exit = True
            await serving
            await runtime.stop()

    try:
        yield start
    finally:
        await runner_nc.close()
        await writer.close()


async def _events(response: httpx.Response) -> AsyncIterator[tuple[str, dict[str, Any] | None]]:
    """Server-sent events as (name, data); a comment line comes as (its text, None)."""
    name, data = "message", ""
    async for line in response.aiter_lines():
        if line.startswith(":"):
            yield line[1:].strip(), None
        elif line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data += line.removeprefix("data: ")
        elif not line and data:
            yield name, json.loads(data)
            name, data = "message", ""


async def _nothing_left_behind(app: Starlette) -> None:
    """Every stream closed its subscription and no reply is still awaited (closing ends with the response)."""
    for _ in range(100):
        if app.state.chat.open_streams == 0 and app.state.replies.pending == 0:
            return
        await asyncio.sleep(0.05)
    chat, replies = app.state.chat, app.state.replies
    raise AssertionError(f"left behind: {chat.open_streams} streams, {replies.pending} waits")


async def _stream(base: str, message: str, on_event: Callable[[SSE], Awaitable[None]] | None = None) -> SSE:
    received: SSE = []
    async with (
        httpx.AsyncClient(timeout=30) as client,
        client.stream("POST", f"{base}/api/animas/sample/chat/stream", json={"message": message}) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        async for event in _events(response):
            received.append(event)
            if on_event is not None:
                await on_event(received)
    return received


async def test_pieces_reach_the_client_in_order_before_the_reply(start_gateway: StartGateway) -> None:
    async with start_gateway(30.0, 15.0) as (base, app, runner):
        first_piece_before_reply: list[bool] = []

        async def on_event(received: SSE) -> None:
            if received[-1][0] == "delta" and not runner.client_saw_first_piece.is_set():
                first_piece_before_reply.append(not runner.replied.is_set())
                runner.client_saw_first_piece.set()

        received = await _stream(base, "stream", on_event)
        await _nothing_left_behind(app)

    assert first_piece_before_reply == [True]
    assert [name for name, _ in received] == ["delta"] * 6 + ["reply"]
    deltas = [data for name, data in received if name == "delta" and data is not None]
    assert [d["seq"] for d in deltas] == [0, 1, 2, 3, 4, 5]
    assert [d["kind"] for d in deltas] == ["text"] * 5 + ["done"]
    reply = received[-1][1] or {}
    assert "".join(d["text"] for d in deltas) == reply["reply"] == "Hello, world!"
    assert (reply["outcome"], reply["model"]) == ("reply", "openai/scripted")
    assert reply["reply_id"] == derive_id(reply["message_id"], "reply")
    assert reply["correlation_id"] == reply["message_id"]
    assert reply["thread_id"] == "dm:human"  # no thread named: the person's running conversation


async def test_a_reply_without_streaming_is_what_chat_answers(start_gateway: StartGateway) -> None:
    async with start_gateway(30.0, 15.0) as (base, app, _), httpx.AsyncClient(timeout=30) as client:
        received = await _stream(base, "configure")
        whole = await client.post(f"{base}/api/animas/sample/chat", json={"message": "configure"})
        await _nothing_left_behind(app)
    assert [name for name, _ in received] == ["reply"]
    reply, same = received[0][1] or {}, ("reply", "outcome", "model")
    assert [reply[k] for k in same] == ["No model is configured.", "configuration_needed", None]
    assert whole.status_code == 200
    assert whole.json().keys() == reply.keys()  # the ids differ: it answers another message
    assert [whole.json()[k] for k in same] == [reply[k] for k in same]


async def test_no_reply_in_time_ends_with_an_error_event(start_gateway: StartGateway) -> None:
    async with start_gateway(1.0, 0.3) as (base, app, _), httpx.AsyncClient(timeout=30) as client:
        received = await _stream(base, "silence")
        whole = await client.post(f"{base}/api/animas/sample/chat", json={"message": "silence"})
        await _nothing_left_behind(app)
    assert (whole.status_code, whole.json()["status"]) == (202, "accepted")  # /chat's way to say it
    names = [name for name, _ in received]
    assert (set(names[:-1]), names[-1]) == ({"keep-alive"}, "error")
    error = received[-1][1] or {}
    assert "no reply in time" in error["error"]
    assert "within 1s" in error["error"]
    assert error["message_id"]


async def test_a_client_that_goes_away_leaves_no_subscription_behind(start_gateway: StartGateway) -> None:
    async with start_gateway(30.0, 15.0) as (base, app, _):
        url = f"{base}/api/animas/sample/chat/stream"
        async with (
            httpx.AsyncClient(timeout=30) as client,
            client.stream("POST", url, json={"message": "hang"}) as response,
        ):
            async for name, data in _events(response):
                assert (name, data and data["text"]) == ("delta", "Hel")
                break
            assert app.state.chat.open_streams == 1
        await _nothing_left_behind(app)


@pytest.mark.parametrize("endpoint", ["chat", "chat/stream"])
@pytest.mark.parametrize(
    ("name", "body", "status", "says"),
    [
        ("Not.Valid", {"message": "hi"}, 400, ANIMA_NAME_PATTERN),
        ("sample", {"text": "hi"}, 422, "unknown field `text`"),
        ("nobody", {"message": "hi"}, 404, "no anima named 'nobody'"),
        ("resting", {"message": "hi"}, 409, "is disabled"),
    ],
)
async def test_both_endpoints_refuse_a_bad_request_alike_with_problem_details(
    start_gateway: StartGateway, endpoint: str, name: str, body: dict[str, str], status: int, says: str
) -> None:
    async with start_gateway(30.0, 15.0) as (base, app, _), httpx.AsyncClient(timeout=30) as client:
        response = await client.post(f"{base}/api/animas/{name}/{endpoint}", json=body)
        assert app.state.chat.open_streams == 0
        assert app.state.replies.pending == 0
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert says in response.json()["error"]
    assert response.json()["status"] == status and response.json()["detail"] == response.json()["error"]
