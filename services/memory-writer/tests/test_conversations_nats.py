"""Conversation memory against a real nats-server: live projection, permissions, rebuild from the stream.

memory-writer runs through its composition root as its own NATS user; the gateway's and
agent-runner's events are published with their users, so the broker's permissions of
authority.py are exercised (agent-runner may publish ``conversation.compacted``).
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import nats
import pytest
from nats.aio.client import Client
from pydantic import SecretStr

from animas_contracts import (
    Conversation,
    ConversationCompacted,
    Event,
    MemoryOpApplied,
    MessageReceived,
    RebuildReply,
    RebuildRequest,
    ResponseSent,
    Summarizer,
    conversation_archive_path,
    conversation_path,
    derive_id,
    encode_event,
    uuid7,
)
from animas_contracts.subjects import (
    ACTIVITY_STREAM,
    HEADER_MSG_ID,
    RPC_MEMORY_REBUILD,
    SERVICE_NAMES,
    activity_subject,
    inbox_prefix,
)
from animas_core.anima_files import AnimaSpec, template_files
from animas_core.runtime import ServiceRuntime
from animas_core.settings import NatsSettings
from animas_core.streams import ensure_all
from animas_memory_writer.app import ACTIVITY_CONSUMER
from animas_memory_writer.app import setup as setup_writer
from animas_memory_writer.settings import MemoryWriterSettings
from animas_tools.animas_cli import creation_event
from animas_tools.nats_server import NatsServer, NatsUser, load_or_create_users
from animas_tools.publish import publish_change

pytestmark = [pytest.mark.nats]

PEER = "human:alice"
T0 = datetime(2026, 2, 12, 14, 30, tzinfo=UTC)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, dict[str, NatsUser]]]:
    users = load_or_create_users(tmp_path / "users.json")
    running = NatsServer(tmp_path / "nats", users=users).start()
    try:
        yield running.url, users
    finally:
        running.stop()


async def _connect(url: str, user: NatsUser) -> Client:
    # A service's user may subscribe only to its own inboxes (animas_tools.authority).
    prefix = inbox_prefix(user.name) if user.name in SERVICE_NAMES else "_INBOX"
    return await nats.connect(url, user=user.name, password=user.password, inbox_prefix=prefix)


@pytest.fixture
async def writer(tmp_path: Path, server: tuple[str, dict[str, NatsUser]]) -> AsyncIterator[ServiceRuntime]:
    url, users = server
    admin = await _connect(url, users["admin"])
    await ensure_all(admin.jetstream())  # the operator provisions; services may not
    await admin.close()
    user = users["memory-writer"]
    settings = MemoryWriterSettings(home=tmp_path / "home", watch_interval_s=0)
    runtime = ServiceRuntime(
        "memory-writer", settings, NatsSettings(url=url, user=user.name, password=SecretStr(user.password))
    )
    await runtime.connect()
    await setup_writer(runtime, settings)
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()


async def _publish(nc: Client, event: Event, msg_id: str | None = None) -> int:
    ack = await nc.jetstream().publish(
        activity_subject(event.anima, event.event_type),
        encode_event(event),
        stream=ACTIVITY_STREAM,
        headers={HEADER_MSG_ID: msg_id or event.id},
    )
    return ack.seq


async def _applied(nc: Client, seq: int, timeout_s: float = 30.0) -> None:
    """Wait until memory-writer has acked everything up to ``seq``."""
    js = nc.jetstream()
    deadline = asyncio.get_running_loop().time() + timeout_s
    while asyncio.get_running_loop().time() < deadline:
        info = await js.consumer_info(ACTIVITY_STREAM, ACTIVITY_CONSUMER.durable)
        if info.ack_floor is not None and (info.ack_floor.stream_seq or 0) >= seq:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"memory-writer did not apply stream sequence {seq} in {timeout_s}s")


def _envelope(n: int) -> dict[str, Any]:
    return {"anima": "tanaka", "correlation_id": f"m{n}", "ts": T0 + timedelta(minutes=n)}


def _message(n: int) -> MessageReceived:
    return MessageReceived(
        id=uuid7(), text=f"message {n}", sender=PEER, thread_id="t", producer="gateway", **_envelope(n)
    )


def _reply(message: MessageReceived, n: int) -> ResponseSent:
    return ResponseSent(
        id=derive_id(message.id, "reply"),
        text=f"reply {n}",
        in_reply_to=message.id,
        to=message.sender,
        thread_id="t",
        producer="agent-runner",
        **_envelope(n),
    )


def _tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.startswith("anima.db")
    }


async def test_conversations_are_projected_live_and_rebuilt_from_the_stream(
    writer: ServiceRuntime, server: tuple[str, dict[str, NatsUser]], tmp_path: Path
) -> None:
    url, users = server
    admin = await _connect(url, users["admin"])
    gateway = await _connect(url, users["gateway"])
    runner = await _connect(url, users["agent-runner"])
    try:
        files = template_files(AnimaSpec(name="tanaka", role="engineer"), "engineer")
        assert isinstance(
            await publish_change(admin, creation_event("tanaka", files, "test")), MemoryOpApplied
        )
        messages = [_message(n) for n in range(4)]
        for n, message in enumerate(messages):
            await _publish(gateway, message)
            if n < 3:  # the last message is never answered: it is kept all the same
                await _publish(runner, _reply(message, n))
        # A redelivered message (stored twice under another Nats-Msg-Id) adds no second turn.
        await _publish(gateway, messages[0], msg_id=uuid7())
        compaction = ConversationCompacted(
            id=derive_id("tanaka", "conversation.compacted", PEER, messages[1].id),
            peer=PEER,
            summary="Alice and I went over messages 0 and 1.",
            through_turn_id=messages[1].id,
            turns_folded=3,
            summarizer=Summarizer.LLM,
            producer="agent-runner",
            **_envelope(9),
        )
        last = await _publish(runner, compaction)
        await _applied(admin, last)

        root = tmp_path / "home" / "animas" / "tanaka"
        conversation = msgspec.json.decode((root / conversation_path(PEER)).read_bytes(), type=Conversation)
        assert conversation.summary == compaction.summary
        assert [t.text for t in conversation.turns] == ["reply 1", "message 2", "reply 2", "message 3"]
        archive = (root / conversation_archive_path(PEER)).read_text().splitlines()
        assert [msgspec.json.decode(line)["text"] for line in archive] == [
            "message 0",
            "reply 0",
            "message 1",
        ]

        before = _tree(root)
        shutil.rmtree(root)
        reply = await admin.request(
            RPC_MEMORY_REBUILD, msgspec.json.encode(RebuildRequest(anima="tanaka")), timeout=60
        )
        assert msgspec.json.decode(reply.data, type=RebuildReply).ok
        assert _tree(root) == before
    finally:
        for nc in (runner, gateway, admin):
            await nc.close()
