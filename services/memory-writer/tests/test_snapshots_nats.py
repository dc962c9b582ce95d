"""Projection snapshots against a real nats-server: a rebuild from a snapshot equals one from sequence 1.

memory-writer runs through its composition root as its own NATS user with
``housekeeping.snapshot_every_events`` small, so snapshots are taken while the history is
projected live. The history has memory operations, tasks, accesses, messages and replies
(activity-log entries) and a board post (the shared boards projection). The SQLite state is
compared by its SQL dump: its page layout is the one documented volatile part of the bytes.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
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
    AppendEpisode,
    ArchiveMemory,
    BoardCreated,
    BoardJoined,
    ChannelPosted,
    CreateTask,
    Event,
    MemoryAccessed,
    MemoryOp,
    MemoryOpRequested,
    MessageReceived,
    RebuildReply,
    RebuildRequest,
    ResponseSent,
    SnapshotReply,
    SnapshotRequest,
    TaskState,
    TransitionTask,
    WriteKnowledge,
    derive_id,
    encode_event,
    uuid7,
)
from animas_contracts.subjects import (
    ACTIVITY_STREAM,
    HEADER_MSG_ID,
    RPC_MEMORY_REBUILD,
    RPC_MEMORY_SNAPSHOT,
    activity_subject,
)
from animas_core.anima_files import AnimaSpec, template_files
from animas_core.runtime import ServiceRuntime
from animas_core.settings import NatsSettings
from animas_core.streams import ensure_all
from animas_memory_writer.adapters.snapshot_files import FORMAT, PROJECTION, Manifest, SnapshotFiles
from animas_memory_writer.app import ACTIVITY_CONSUMER
from animas_memory_writer.app import setup as setup_writer
from animas_memory_writer.settings import MemoryWriterSettings
from animas_tools.animas_cli import creation_event
from animas_tools.nats_server import NatsServer, NatsUser, load_or_create_users

pytestmark = [pytest.mark.nats]

T0 = datetime(2026, 2, 12, 14, 30, tzinfo=UTC)
EVERY = 6


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, dict[str, NatsUser]]]:
    users = load_or_create_users(tmp_path / "users.json")
    running = NatsServer(tmp_path / "nats", users=users).start()
    try:
        yield running.url, users
    finally:
        running.stop()


@pytest.fixture
async def admin(server: tuple[str, dict[str, NatsUser]]) -> AsyncIterator[Client]:
    url, users = server
    nc = await nats.connect(url, user="admin", password=users["admin"].password)
    await ensure_all(nc.jetstream())  # the operator provisions; services may not
    yield nc
    await nc.close()


@pytest.fixture
async def writer(
    tmp_path: Path, server: tuple[str, dict[str, NatsUser]], admin: Client
) -> AsyncIterator[ServiceRuntime]:
    url, users = server
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.json").write_text(
        json.dumps({"version": 1, "housekeeping": {"snapshot_every_events": EVERY, "snapshots_kept": 2}})
    )
    user = users["memory-writer"]
    settings = MemoryWriterSettings(home=home, watch_interval_s=0)
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


class History:
    """Publishes a varied history as the operator and waits until memory-writer has projected it."""

    def __init__(self, nc: Client) -> None:
        self._nc = nc
        self.minute = 0
        self.last = 0

    def env(self, anima: str) -> dict[str, Any]:
        self.minute += 7
        return {"anima": anima, "correlation_id": uuid7(), "ts": T0 + timedelta(minutes=self.minute)}

    async def publish(self, event: Event) -> None:
        ack = await self._nc.jetstream().publish(
            activity_subject(event.anima, event.event_type),
            encode_event(event),
            stream=ACTIVITY_STREAM,
            headers={HEADER_MSG_ID: event.id},
        )
        self.last = ack.seq

    async def op(self, anima: str, op: MemoryOp) -> None:
        await self.publish(MemoryOpRequested(id=uuid7(), op=op, producer="agent-runner", **self.env(anima)))

    async def create(self, anima: str) -> None:
        files = template_files(AnimaSpec(name=anima, role="engineer"), "engineer")
        await self.publish(creation_event(anima, files, "template:engineer"))

    async def chat(self, anima: str, n: int) -> None:
        message = MessageReceived(
            id=uuid7(), text=f"message {n}", sender="human:alice", thread_id="t", producer="gateway",
            **self.env(anima),
        )  # fmt: skip
        await self.publish(message)
        reply = ResponseSent(
            id=derive_id(message.id, "reply"), text=f"reply {n}", in_reply_to=message.id, to=message.sender,
            thread_id="t", producer="agent-runner", **self.env(anima),
        )  # fmt: skip
        await self.publish(reply)

    async def round(self, anima: str, n: int) -> None:
        """Nine events: a chat, knowledge, an episode, an access, a task and its progress, a board post."""
        await self.chat(anima, n)
        post = ChannelPosted(
            id=uuid7(), channel="dev", text=f"post {n}", thread_id="b", request_id=uuid7(),
            producer="outbound", **self.env(anima),
        )  # fmt: skip
        await self.publish(post)
        await self.op(anima, WriteKnowledge(path=f"knowledge/topic-{n}.md", content=f"Fact {n}."))
        at = T0 + timedelta(minutes=self.minute)
        await self.op(
            anima, AppendEpisode(title=f"Round {n}", at=at, trigger="chat", decision="answer", result="ok")
        )
        await self.publish(
            MemoryAccessed(
                id=uuid7(), paths=[f"knowledge/topic-{n}.md"], producer="priming", **self.env(anima)
            )
        )
        await self.op(anima, CreateTask(task_id=f"t{n}", title=f"Task {n}"))
        await self.op(anima, TransitionTask(task_id=f"t{n}", to=TaskState.IN_PROGRESS))
        if n % 2:
            await self.op(anima, TransitionTask(task_id=f"t{n}", to=TaskState.DONE))
        else:
            await self.op(anima, ArchiveMemory(path=f"knowledge/topic-{n}.md"))

    async def projected(self, timeout_s: float = 60.0) -> None:
        """Until memory-writer has projected the whole stream, its own answers included."""
        js = self._nc.jetstream()
        deadline = asyncio.get_running_loop().time() + timeout_s
        quiet = 0
        while asyncio.get_running_loop().time() < deadline:
            end = (await js.stream_info(ACTIVITY_STREAM)).state.last_seq
            info = await js.consumer_info(ACTIVITY_STREAM, ACTIVITY_CONSUMER.durable)
            acked = info.ack_floor.stream_seq if info.ack_floor is not None else 0
            quiet = quiet + 1 if acked == end and end == self.last else 0
            self.last = end
            if quiet >= 3:  # the answers to the last changes are stored and projected too
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"memory-writer did not project up to {self.last} in {timeout_s}s")


def _state(home: Path) -> dict[str, Any]:
    """Every projected file's bytes, with each SQLite database as its SQL dump."""
    out: dict[str, Any] = {}
    for root in (home / "animas", home / "boards"):
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(home).as_posix()
            if not path.is_file() or path.name.endswith(("-wal", "-shm")):
                continue
            if path.suffix == ".db":
                conn = sqlite3.connect(path)
                out[rel] = list(conn.iterdump())
                conn.close()
            else:
                out[rel] = path.read_bytes()
    return out


async def _rebuild(nc: Client, anima: str | None, *, full: bool = False) -> RebuildReply:
    request = RebuildRequest(anima=anima, full=full)
    msg = await nc.request(RPC_MEMORY_REBUILD, msgspec.json.encode(request), timeout=60)
    reply = msgspec.json.decode(msg.data, type=RebuildReply)
    assert reply.ok, reply.error
    return reply


async def _history(nc: Client) -> History:
    history = History(nc)
    for anima in ("tanaka", "sato"):
        await history.create(anima)
    await history.publish(BoardCreated(id=uuid7(), board="dev", producer="gateway", **history.env("tanaka")))
    await history.publish(BoardJoined(id=uuid7(), board="dev", producer="gateway", **history.env("sato")))
    for n in range(4):
        await history.round("tanaka", n)
    await history.round("sato", 0)
    await history.projected()
    return history


async def test_a_rebuild_from_a_snapshot_gives_the_files_of_a_rebuild_from_sequence_1(
    writer: ServiceRuntime, admin: Client, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    history = await _history(admin)
    await history.chat("tanaka", 9)  # two events past the last periodic snapshot
    await history.projected()
    live = _state(home)
    kept = sorted((home / "snapshots" / "tanaka").glob("*.tar"))
    assert len(kept) == 2  # snapshots_kept: the older ones were pruned
    newest = int(kept[-1].stem)

    from_snapshot = await _rebuild(admin, "tanaka")
    assert (from_snapshot.restored, from_snapshot.fallbacks) == ({"tanaka": newest}, [])
    assert _state(home) == live

    full = await _rebuild(admin, "tanaka", full=True)
    assert full.restored == {} and full.fallbacks == []
    assert 0 < from_snapshot.events < full.events  # only what came after the snapshot
    assert _state(home) == live

    # Every anima at once: directories from snapshots, boards from every board event.
    assert any("post 0" in line for line in live["boards/boards.db"])
    everyone = await _rebuild(admin, None)
    assert set(everyone.restored) == {"tanaka", "sato"}
    assert _state(home) == live
    assert history.last > full.events


async def test_an_unusable_snapshot_falls_back_to_an_older_one_or_a_full_replay(
    writer: ServiceRuntime, admin: Client, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    await _history(admin)
    live = _state(home)
    older, newest = sorted((home / "snapshots" / "tanaka").glob("*.tar"))
    newest.write_bytes(b"not a tar")

    reply = await _rebuild(admin, "tanaka")
    assert reply.restored == {"tanaka": int(older.stem)}
    assert (
        len(reply.fallbacks) == 1 and newest.name in reply.fallbacks[0] and "unreadable" in reply.fallbacks[0]
    )
    assert _state(home) == live

    # A snapshot whose sequence holds another event (as after the stream was recreated), and
    # one made by another projection version: neither is trusted; the rebuild replays everything.
    files = SnapshotFiles(home / "snapshots")
    for path in files.newest_first("tanaka"):
        path.unlink()
    seq, tanaka = int(older.stem), home / "animas" / "tanaka"
    files.write(Manifest(format=FORMAT, projection=PROJECTION, anima="tanaka", seq=seq, event_id="x"), tanaka)
    files.write(Manifest(format=FORMAT, projection=PROJECTION + 1, anima="tanaka", seq=seq - 1), tanaka)
    reply = await _rebuild(admin, "tanaka")
    assert reply.restored == {}
    assert len(reply.fallbacks) == 2
    assert "holds event" in reply.fallbacks[0] and "was the stream recreated" in reply.fallbacks[0]
    assert f"this build projects {PROJECTION}" in reply.fallbacks[1]
    assert _state(home) == live


async def test_a_snapshot_on_request_is_what_the_next_rebuild_starts_from(
    writer: ServiceRuntime, admin: Client, tmp_path: Path
) -> None:
    history = await _history(admin)
    msg = await admin.request(RPC_MEMORY_SNAPSHOT, msgspec.json.encode(SnapshotRequest()), timeout=30)
    reply = msgspec.json.decode(msg.data, type=SnapshotReply)
    assert reply.ok and reply.snapshots == {"tanaka": history.last, "sato": history.last}
    live = _state(tmp_path / "home")
    rebuilt = await _rebuild(admin, "sato")
    assert rebuilt.restored == {"sato": history.last} and rebuilt.events == 0
    assert _state(tmp_path / "home") == live

    missing = await admin.request(
        RPC_MEMORY_SNAPSHOT, msgspec.json.encode(SnapshotRequest(anima="nobody")), timeout=30
    )
    assert "no projection of 'nobody'" in (msgspec.json.decode(missing.data, type=SnapshotReply).error or "")
