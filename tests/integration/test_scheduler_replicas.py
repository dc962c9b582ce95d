"""Scheduler replicas against a real nats-server: each occurrence of a simulated day fires once.

Two ``python -m animas_scheduler`` processes share one clock file, which the test advances over a
whole day; one of them runs ten minutes behind (past JetStream's two-minute duplicate window)
and the other is killed and restarted mid-day. A small responder in the test stands in for
memory-writer (``rpc.memory.animas`` and ``rpc.memory.read.<anima>``). At the end every ``*.due``
event in the activity stream is compared with the occurrences the parser computes.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import nats
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.errors import KeyNotFoundError, NoKeysError

from animas_contracts import (
    AnimaListReply,
    AnimaSummary,
    ConsolidationDue,
    CronDue,
    Event,
    HeartbeatDue,
    MemoryReadReply,
    MemoryReadRequest,
    ScheduleRejected,
    decode_event,
)
from animas_contracts.subjects import (
    RPC_MEMORY_ANIMAS,
    RPC_MEMORY_READ_ALL,
    SCHEDULES_BUCKET,
    SERVICES_BUCKET,
    activity_stream,
    stored_activity_filter,
)
from animas_core.config import parse_config
from animas_core.schedules import anima_schedules, fires_between, zone_for
from animas_core.streams import ensure_all, ensure_stream, read_stored
from animas_scheduler.domain import cursor_key
from animas_tools.nats_server import NatsServer, NatsUser, load_or_create_users

pytestmark = [pytest.mark.nats, pytest.mark.slow]

START = datetime(2025, 6, 13, 4, 10, tzinfo=UTC)
"""A Friday: 13:10 in Tokyo (alice), 00:10 in New York (bob); nothing fires in the 10 minutes before."""
STEP = timedelta(minutes=5)
BEHIND_S = -600.0
CONFIG = {
    "system": {"timezone": "America/New_York"},
    "consolidation": {"daily_time": "02:00", "weekly_day": 5, "weekly_time": "03:00"},
    "scheduler": {"tick_s": 0.02, "reload_s": 1.0, "claim_timeout_s": 2.0},
}
ANIMAS = {
    "alice": (
        {"timezone": "Asia/Tokyo"},
        {"heartbeat.md": "## Execution Interval\nEvery 30 minutes\n\n## Active Hours\n9:00 - 18:00\n"},
    ),
    "bob": (
        {},
        {
            "cron.md": "## Weekly review (0 17 * * 5)\nReview the week.\n\n"
            "## Morning check (毎日 9:00)\nRead the news.\n\n## Broken (every blue moon)\nNever.\n"
        },
    ),
}
Occurrence = tuple[str, str, datetime]


class World:
    """The server, the shared clock file, memory-writer's stand-in and the scheduler processes."""

    def __init__(self, url: str, tmp: Path, nc: Client, user: NatsUser | None = None) -> None:
        self.url, self.tmp, self.nc, self.user = url, tmp, nc, user
        self.js = nc.jetstream()
        self.clock_file = tmp / "clock.json"
        self.config_file = tmp / "config.json"
        self.config_file.write_text(json.dumps(CONFIG))
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.now = START
        self.set_clock(START)

    def set_clock(self, moment: datetime) -> None:
        self.now = moment
        tmp = self.clock_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"now": moment.isoformat()}))
        os.replace(tmp, self.clock_file)

    def start(self, instance: str, offset_s: float = 0.0, faults: str = "") -> None:
        env = {
            **os.environ,
            "ANIMAWORKS_NATS_URL": self.url,
            "ANIMAWORKS_HOME": str(self.tmp / "service-home"),
            "ANIMAWORKS_CONFIG_FILE": str(self.config_file),
            "ANIMAWORKS_INSTANCE_ID": instance,
            "ANIMAWORKS_HEALTH_INTERVAL_S": "0.02",
            "ANIMAWORKS_SCHEDULER_CLOCK_FILE": str(self.clock_file),
            "ANIMAWORKS_SCHEDULER_CLOCK_OFFSET_S": str(offset_s),
            "ANIMAWORKS_FAULTS": faults,
            "PYTHONUNBUFFERED": "1",
        }
        if self.user is not None:  # the scheduler's own NATS user: authority.py's permissions apply
            env |= {"ANIMAWORKS_NATS_USER": self.user.name, "ANIMAWORKS_NATS_PASSWORD": self.user.password}
        with open(self.tmp / f"scheduler-{instance}.log", "ab") as log:
            self.processes[instance] = subprocess.Popen(
                [sys.executable, "-m", "animas_scheduler"], env=env, stdout=log, stderr=subprocess.STDOUT
            )

    def stop(self, instance: str, sig: signal.Signals = signal.SIGTERM) -> None:
        process = self.processes.pop(instance)
        process.send_signal(sig)
        process.wait(30)

    def log(self, instance: str) -> str:
        return (self.tmp / f"scheduler-{instance}.log").read_text(errors="replace")

    async def reached(self, instance: str, offset_s: float = 0.0, timeout_s: float = 30.0) -> None:
        """Wait until ``instance`` reports a clean tick at the current time (its own clock's view)."""
        target = self.now + timedelta(seconds=offset_s)
        kv = await self.js.key_value(SERVICES_BUCKET)
        deadline = asyncio.get_running_loop().time() + timeout_s
        while asyncio.get_running_loop().time() < deadline:
            process = self.processes.get(instance)
            if process is not None and process.poll() is not None:
                raise AssertionError(f"scheduler {instance} exited:\n{self.log(instance)}")
            try:
                record = json.loads((await kv.get(f"scheduler.{instance}")).value or b"{}")
            except KeyNotFoundError:
                record = {}
            if "clock" in record and datetime.fromisoformat(record["clock"]) >= target:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"scheduler {instance} did not reach {target}:\n{self.log(instance)[-3000:]}")

    async def due(self) -> list[HeartbeatDue | CronDue | ConsolidationDue]:
        events = [decode_event(m.data) async for m in read_stored(self.js, stored_activity_filter())]
        return [e for e in events if isinstance(e, HeartbeatDue | CronDue | ConsolidationDue)]

    async def stored(self, event_type: type[Event]) -> list[Event]:
        events = [decode_event(m.data) async for m in read_stored(self.js, stored_activity_filter())]
        return [e for e in events if isinstance(e, event_type)]

    async def claims(self) -> list[dict[str, object]]:
        kv = await self.js.key_value(SCHEDULES_BUCKET)
        for _ in range(20):
            try:
                keys = [k for k in await kv.keys() if k.startswith("occ.")]
                return [json.loads((await kv.get(k)).value or b"{}") for k in keys]
            except (NoKeysError, KeyNotFoundError):
                # Listing races a replica's compare-and-set (history 1 drops the old revision).
                await asyncio.sleep(0.05)
        return []

    def shutdown(self) -> None:
        for instance in list(self.processes):
            self.stop(instance, signal.SIGKILL)


async def serve_memory(nc: Client) -> None:
    """memory-writer's read endpoints over ANIMAS (the scheduler sees animas only through them)."""

    async def on_animas(msg: Msg) -> None:
        summaries = [AnimaSummary(name=n, enabled=True, status=s) for n, (s, _) in ANIMAS.items()]
        await msg.respond(msgspec.json.encode(AnimaListReply(animas=summaries)))

    async def on_read(msg: Msg) -> None:
        anima = msg.subject.rsplit(".", 1)[-1]
        request = msgspec.json.decode(msg.data, type=MemoryReadRequest)
        content = ANIMAS[anima][1].get(request.path or "")
        reply = MemoryReadReply(ok=content is not None, content=content, error=None if content else "missing")
        await msg.respond(msgspec.json.encode(reply))

    await nc.subscribe(RPC_MEMORY_ANIMAS, cb=on_animas)
    await nc.subscribe(RPC_MEMORY_READ_ALL, cb=on_read)


@contextlib.asynccontextmanager
async def open_world(url: str, tmp: Path, users: dict[str, NatsUser] | None = None) -> AsyncIterator[World]:
    admin = {"user": "admin", "password": users["admin"].password} if users else {}
    nc = await nats.connect(url, **admin)
    # JetStream's duplicate window at its minimum (100 ms): a repeat publish of an occurrence
    # would be stored and counted, as it would be minutes later in production.
    await ensure_stream(nc.jetstream(), dataclasses.replace(activity_stream(), duplicate_window_s=0.1))
    await ensure_all(nc.jetstream())
    await serve_memory(nc)
    running = World(url, tmp, nc, users["scheduler"] if users else None)
    try:
        yield running
    finally:
        running.shutdown()
        await nc.close()


@pytest.fixture
async def world(nats_server: str, tmp_path: Path) -> AsyncIterator[World]:
    async with open_world(nats_server, tmp_path) as running:
        yield running


@pytest.fixture(params=["plain", "own-user"])
async def any_world(request: pytest.FixtureRequest, nats_server: str, tmp_path: Path) -> AsyncIterator[World]:
    """The plain server, or one where the scheduler connects as its own user (authority.py)."""
    if request.param == "plain":
        async with open_world(nats_server, tmp_path) as running:
            yield running
        return
    users = load_or_create_users(tmp_path / "users.json")
    server = NatsServer(tmp_path / "secured-nats", users=users).start()
    try:
        async with open_world(server.url, tmp_path, users) as running:
            yield running
    finally:
        server.stop()


def expected(start: datetime, end: datetime) -> set[Occurrence]:
    config = parse_config(CONFIG)
    found: set[Occurrence] = set()
    for anima, (status, files) in ANIMAS.items():
        zone = zone_for(str(status.get("timezone", config.system.timezone)))
        named = anima_schedules(
            files.get("heartbeat.md"), files.get("cron.md"), consolidation=config.consolidation
        )
        for schedule in named:
            found |= {(anima, schedule.key, t) for t in fires_between(schedule, start, end, zone)}
    return found


def occurrence(event: HeartbeatDue | CronDue | ConsolidationDue) -> Occurrence:
    if isinstance(event, HeartbeatDue):
        return event.anima, "heartbeat", event.fire_at
    if isinstance(event, CronDue):
        return event.anima, f"cron:{event.task}", event.fire_at
    return event.anima, f"consolidation:{event.kind.value}", event.fire_at


async def test_two_schedulers_fire_each_occurrence_of_a_day_once(world: World) -> None:
    world.start("a")
    world.start("b", BEHIND_S)
    await world.reached("a")
    await world.reached("b", BEHIND_S)
    for step in range(1, 24 * 12 + 1):
        world.set_clock(START + step * STEP)
        if step == 100:
            world.stop("a", signal.SIGKILL)  # down over bob's 9:00 in New York
        if step == 110:
            world.start("a")
        if "a" in world.processes:
            await world.reached("a")
        await world.reached("b", BEHIND_S)
    for _ in range(300):  # a claim a killed replica left is completed within claim_timeout_s
        if all(c["state"] != "claimed" for c in await world.claims()):
            break
        await asyncio.sleep(0.05)
    events = await world.due()
    fired = [occurrence(e) for e in events]
    assert len({e.id for e in events}) == len(events), Counter(e.id for e in events).most_common(3)
    assert not [o for o, n in Counter(fired).items() if n > 1]
    assert set(fired) == expected(START, world.now)
    assert {e.coalesced for e in events} == {1}
    assert {"cron:Weekly review", "cron:Morning check", "consolidation:weekly"} <= {k for _, k, _ in fired}
    assert {str(c["by"]) for c in await world.claims()} == {"a", "b"}
    (rejected,) = await world.stored(ScheduleRejected)
    assert isinstance(rejected, ScheduleRejected) and rejected.anima == "bob"


async def test_a_claim_left_by_a_dead_scheduler_is_completed_once(any_world: World) -> None:
    world = any_world
    world.start("doomed", faults="scheduler-after-claim")
    await world.reached("doomed")
    world.set_clock(START + timedelta(minutes=25))  # alice's 13:30 in Tokyo
    world.processes["doomed"].wait(30)  # it claimed the occurrence and died before publishing
    assert world.processes.pop("doomed").returncode == -signal.SIGKILL
    assert [c["state"] for c in await world.claims()] == ["claimed"]
    assert await world.due() == []
    world.start("b")
    await world.reached("b")
    for _ in range(200):
        if [c["state"] for c in await world.claims()] == ["published"]:
            break
        await asyncio.sleep(0.05)
    (event,) = await world.due()
    assert isinstance(event, HeartbeatDue) and event.fire_at == START + timedelta(minutes=20)
    assert [c["by"] for c in await world.claims()] == ["b"]


async def test_hours_of_downtime_fire_one_coalesced_heartbeat(world: World) -> None:
    world.start("a")
    await world.reached("a")
    world.stop("a")
    world.set_clock(START + timedelta(hours=6))  # alice's 13:30 … 17:30 in Tokyo were missed
    world.start("a")
    await world.reached("a")
    beats = [e for e in await world.due() if isinstance(e, HeartbeatDue)]
    assert [(b.coalesced, b.fire_at) for b in beats] == [(9, START + timedelta(hours=4, minutes=20))]


async def test_a_late_replica_with_a_stale_cursor_finds_the_claim_and_fires_once(world: World) -> None:
    world.start("a")
    await world.reached("a")
    world.set_clock(START + timedelta(minutes=25))  # alice's 13:30 in Tokyo
    await world.reached("a")
    world.stop("a")
    (fired,) = await world.due()
    kv = await world.js.key_value(SCHEDULES_BUCKET)
    cursor = cursor_key("alice", "heartbeat")
    # As if the cursor's advance had been lost: only the occurrence's claim stands in the way.
    await kv.put(cursor, json.dumps({"at": START.isoformat(), "by": "test"}).encode())
    world.start("b", BEHIND_S)
    world.set_clock(START + timedelta(minutes=35))  # 13:35 in Tokyo by b's clock
    await world.reached("b", BEHIND_S)
    assert await world.due() == [fired]
    at = json.loads((await kv.get(cursor)).value or b"{}")["at"]
    assert datetime.fromisoformat(at) == fired.fire_at  # b moved the cursor on past the claimed one
