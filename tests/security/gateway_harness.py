"""The real gateway over real HTTP, for the security suites: in-process on a real socket, or `anima up`.

In-process (:func:`serve_gateway`): the gateway app under uvicorn, connected as its own NATS user
to a real nats-server (through a proxy when a test needs to break the connection), with
stand-ins speaking the real contracts for memory-writer's anima list and for agent-runner's
replies. As `anima up` starts it (:func:`start_system_on`): every real service, the gateway
listening on the address a test names (``0.0.0.0`` to be reached from another address).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import msgspec
import nats
import uvicorn
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from starlette.applications import Starlette
from tests.conftest import RunningSystem, start_system

from animas_contracts import (
    AnimaListReply,
    AnimaSummary,
    MessageReceived,
    ResponseSent,
    decode_event,
    derive_id,
    encode_event,
)
from animas_contracts.subjects import (
    ACTIVITY_STREAM,
    HEADER_MSG_ID,
    RPC_MEMORY_ANIMAS,
    activity_subject,
    stored_activity_filter,
)
from animas_core.runtime import ServiceRuntime
from animas_core.settings import NatsSettings
from animas_gateway.app import create_app
from animas_gateway.settings import GatewaySettings
from animas_tools.authority import ADMIN_USER
from animas_tools.nats_server import NatsUser


def non_loopback_address() -> str | None:
    """An address of this machine that is not loopback (what ``hostname -I`` lists first), if any."""
    try:
        listed = subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=5).stdout.split()
    except (OSError, subprocess.TimeoutExpired):
        return None
    for candidate in listed:
        with contextlib.suppress(ValueError):
            address = ipaddress.ip_address(candidate)
            if address.version == 4 and not address.is_loopback and not address.is_link_local:
                return candidate
    return None


async def stored_count(js: JetStreamContext, anima: str, event_type: str) -> int:
    """How many events of a type are stored for an anima (what JetStream kept, duplicates dropped)."""
    subject = stored_activity_filter(anima=anima, event_type=event_type)
    info = await js.stream_info(ACTIVITY_STREAM, subjects_filter=subject)
    return sum((info.state.subjects or {}).values())


class AnimaList:
    """memory-writer's anima list, as the gateway asks for it (``rpc.memory.animas``)."""

    def __init__(self, animas: list[AnimaSummary]) -> None:
        self.animas = animas

    async def serve(self, nc: Client) -> None:
        async def answer(msg: Msg) -> None:
            await msg.respond(msgspec.json.encode(AnimaListReply(animas=self.animas)))

        await nc.subscribe(RPC_MEMORY_ANIMAS, cb=answer)


class StoredMessageRunner:
    """agent-runner as far as replies go: it answers each *stored* message once, as the real one does.

    It reads the stream (an ordered consumer, as the operator), so a duplicate that JetStream
    dropped is never seen, and its reply has the derived id agent-runner gives it.
    """

    def __init__(self, nc: Client, anima: str) -> None:
        self._js = nc.jetstream()
        self._anima = anima
        self.answered: list[str] = []

    async def start(self) -> None:
        subject = stored_activity_filter(anima=self._anima, event_type="message.received")
        await self._js.subscribe(subject, stream=ACTIVITY_STREAM, ordered_consumer=True, cb=self._on_message)

    async def _on_message(self, msg: Msg) -> None:
        message = decode_event(msg.data)
        assert isinstance(message, MessageReceived)
        reply = ResponseSent(
            id=derive_id(message.id, "reply"),
            anima=message.anima,
            correlation_id=message.correlation_id,
            causation_id=message.id,
            producer="agent-runner",
            in_reply_to=message.id,
            text=f"answer to: {message.text}",
            to=message.sender,
            thread_id=message.thread_id,
        )
        subject = activity_subject(message.anima, "response.sent")
        await self._js.publish(subject, encode_event(reply), headers={HEADER_MSG_ID: reply.id})
        self.answered.append(message.id)


@dataclass
class ServedGateway:
    """A gateway listening on a real socket."""

    url: str
    app: Starlette
    port: int


@contextlib.asynccontextmanager
async def serve_gateway(
    home: Path,
    users: dict[str, NatsUser],
    nats_url: str,
    *,
    host: str = "127.0.0.1",
    chat_timeout_s: float = 30.0,
) -> AsyncIterator[ServedGateway]:
    """The gateway app, connected to ``nats_url`` as the ``gateway`` user, served by uvicorn on ``host``."""
    settings = GatewaySettings(home=home, gateway_port=0, chat_timeout_s=chat_timeout_s)
    password = users["gateway"].password
    runtime = ServiceRuntime(
        "gateway", settings, NatsSettings(url=nats_url, user="gateway", password=password)
    )
    await runtime.connect()
    await runtime.start()
    app = create_app(runtime, settings)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=0, log_config=None, access_log=False))
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if serving.done():
                await serving
            await asyncio.sleep(0.02)
        port = int(server.servers[0].sockets[0].getsockname()[1])
        yield ServedGateway(f"http://127.0.0.1:{port}", app, port)
    finally:
        server.should_exit = True
        await serving
        await runtime.stop()


async def as_operator(url: str, users: dict[str, NatsUser]) -> Client:
    """A connection as the operator (``admin``): reads anything, creates consumers."""
    return await nats.connect(url, user=ADMIN_USER, password=users[ADMIN_USER].password)


async def as_service(url: str, users: dict[str, NatsUser], service: str) -> Client:
    """A connection as a service's own NATS user (for serving its rpc subjects: it makes no requests)."""
    return await nats.connect(url, user=users[service].name, password=users[service].password)


def start_system_on(home: Path, host: str, env: dict[str, str]) -> RunningSystem:
    """`anima up` with its gateway on ``host`` (a free port), as ``tests.conftest.start_system`` runs it."""
    return start_system(home, env, args=("--host", host))
