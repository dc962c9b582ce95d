"""Idempotent ingress (issue #12, item 6): a chat retried with its Idempotency-Key after a 503 is one message.

The 503 is made honestly: the gateway's connection to nats-server runs through a TCP proxy that
passes the gateway's publish of ``message.received`` on to the server and then drops everything
the server sends back, so the message is stored but its ack never arrives; once the message is in
the stream the proxy cuts the connection. The gateway answers 503 ("could not be stored: no ack")
and reconnects. The client retries with the same key.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from tests.security.gateway_harness import (
    AnimaList,
    StoredMessageRunner,
    as_operator,
    as_service,
    serve_gateway,
    stored_count,
)

from animas_contracts import AnimaSummary
from animas_gateway.domain import ingress_message_id
from animas_tools.nats_server import NatsUser

pytestmark = [pytest.mark.nats]

ANIMA = "sample"
PUBLISH_MARK = f"activity.{ANIMA}.message.received".encode()


class AckEatingProxy:
    """A TCP proxy to nats-server that, when armed, lets one message publish through and loses its ack."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self._upstream = (upstream_host, upstream_port)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: list[asyncio.StreamWriter] = []
        self.armed = False
        self.published = asyncio.Event()
        self._swallowing = False
        self.url = ""

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.url = f"nats://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    def cut(self) -> None:
        """Drop every proxied connection (the client reconnects through the proxy, unarmed)."""
        self._swallowing, self.armed = False, False
        for writer in self._writers:
            writer.close()
        self._writers.clear()

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in self._tasks:
            task.cancel()

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        server_reader, server_writer = await asyncio.open_connection(*self._upstream)
        self._writers += [client_writer, server_writer]
        for pump in (
            self._pump(client_reader, server_writer, upstream=True),
            self._pump(server_reader, client_writer, upstream=False),
        ):
            task = asyncio.create_task(pump)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, upstream: bool
    ) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                if upstream and self.armed and PUBLISH_MARK in data:
                    # From here on the server's answers (the ack first) never reach the gateway.
                    self._swallowing = True
                    self.published.set()
                elif not upstream and self._swallowing:
                    continue
                writer.write(data)
                await writer.drain()
        writer.close()


@pytest.fixture
async def world(
    tmp_path: Path, secured_nats: tuple[str, dict[str, NatsUser]]
) -> AsyncIterator[tuple[str, dict[str, NatsUser], AckEatingProxy]]:
    url, users = secured_nats
    host, port = url.removeprefix("nats://").rsplit(":", 1)
    proxy = AckEatingProxy(host, int(port))
    await proxy.start()
    try:
        yield url, users, proxy
    finally:
        await proxy.stop()


async def _chat_through_a_lost_ack(
    tmp_path: Path, world: tuple[str, dict[str, NatsUser], AckEatingProxy], headers: dict[str, str]
) -> tuple[httpx.Response, httpx.Response, int, int]:
    """First attempt loses its ack (503), the retry carries the same headers; stored counts after both."""
    url, users, proxy = world
    operator = await as_operator(url, users)
    writer = await as_service(url, users, "memory-writer")
    try:
        await AnimaList([AnimaSummary(name=ANIMA, enabled=True)]).serve(writer)
        runner = StoredMessageRunner(operator, ANIMA)
        await runner.start()
        js = operator.jetstream()
        async with (
            serve_gateway(tmp_path, users, proxy.url) as gateway,
            httpx.AsyncClient(timeout=60) as client,
        ):
            chat = f"{gateway.url}/api/animas/{ANIMA}/chat"
            proxy.armed = True
            first = asyncio.create_task(client.post(chat, json={"message": "ship it"}, headers=headers))
            await asyncio.wait_for(proxy.published.wait(), 30)
            while await stored_count(js, ANIMA, "message.received") == 0:
                await asyncio.sleep(0.05)  # stored, and its ack is lost in the proxy
            proxy.cut()
            failed = await first
            retried = await client.post(chat, json={"message": "ship it"}, headers=headers)
            # Let any second reply land before counting (the runner answers each stored message).
            while len(runner.answered) < await stored_count(js, ANIMA, "message.received"):
                await asyncio.sleep(0.05)
            messages = await stored_count(js, ANIMA, "message.received")
            replies = await stored_count(js, ANIMA, "response.sent")
        return failed, retried, messages, replies
    finally:
        await writer.close()
        await operator.close()


async def test_a_retry_with_the_same_key_after_a_503_is_one_message_and_one_reply(
    tmp_path: Path, world: tuple[str, dict[str, NatsUser], AckEatingProxy]
) -> None:
    failed, retried, messages, replies = await _chat_through_a_lost_ack(
        tmp_path, world, {"Idempotency-Key": "order-42-confirm"}
    )
    assert failed.status_code == 503, failed.text
    assert "could not be stored" in failed.json()["error"]
    assert retried.status_code == 200, retried.text
    body = retried.json()
    assert body["reply"] == "answer to: ship it"
    assert body["message_id"] == ingress_message_id(ANIMA, "order-42-confirm")
    assert retried.headers["idempotent-replayed"] == "true"
    assert (messages, replies) == (1, 1)


async def test_without_a_key_the_same_retry_is_a_second_message(
    tmp_path: Path, world: tuple[str, dict[str, NatsUser], AckEatingProxy]
) -> None:
    # The control: what the key prevents really happens without it, in this very setup.
    failed, retried, messages, replies = await _chat_through_a_lost_ack(tmp_path, world, {})
    assert (failed.status_code, retried.status_code) == (503, 200)
    assert (messages, replies) == (2, 2)
