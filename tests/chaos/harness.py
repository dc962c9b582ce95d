"""What the chaos tests share about the system under test: animas, the stream, kills and recovery.

Every helper talks to a real `anima up` (:class:`tests.conftest.RunningSystem`) as the operator
(``admin``) or through its files (``run/services.json``); none of them changes what it observes
except :func:`sigkill`, which SIGKILLs a process (:meth:`Killed.recovered` then waits until the
supervisor has it back and healthy).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import httpx
from nats.aio.client import Client
from tests.conftest import RunningSystem, scripted_config, start_system

from animas_contracts import Event, MemoryOpApplied
from animas_contracts.subjects import (
    ACTIVITY_STREAM,
    DEADLETTER_STREAM,
    HEADER_DEADLETTER_REASON,
    SERVICE_NAMES,
)
from animas_core.anima_files import AnimaSpec, template_files
from animas_core.streams import read_stored
from animas_tools.animas_cli import creation_event
from animas_tools.events import read_activity
from animas_tools.publish import publish_change
from animas_tools.scripted_llm import ScriptedLLM
from animas_tools.supervisor import NATS_SERVER, read_health_records

RECOVERY_BOUND_S = 90.0
"""How long a killed process may take to be back and healthy before the test fails (generous: the
measured time is printed; the supervisor's backoff is 0.5 s for a first crash)."""


DURABILITY_LIMITS = {
    "max_exchanges": 10_000,
    "rates": {"default": {"messages": 10_000, "window_s": 600}},
    "cascade": {"messages": 10_000, "window_s": 600},
}
"""The storm guards raised out of the way: these tests send hundreds of messages between the same
animas in minutes to test durability alone (the guards are tested in tests/e2e/test_messaging_limits.py)."""


@contextlib.contextmanager
def running_with_animas(
    home: Path, env: dict[str, str], llm: ScriptedLLM, animas: tuple[str, ...], args: Sequence[str] = ()
) -> Iterator[RunningSystem]:
    """`anima up` in ``home`` (``env``, ``args``), each anima of ``animas`` created and talking to ``llm``."""
    running = start_system(home, env, args)
    try:
        running.configure({**scripted_config(llm, animas), "messaging": DURABILITY_LIMITS})
        create_animas(running, animas)
        yield running
    finally:
        running.stop()


def create_animas(system: RunningSystem, names: tuple[str, ...]) -> None:
    """Create each anima from the general template, as `anima create` does, and wait for each."""

    async def create(nc: Client) -> None:
        for name in names:
            files = template_files(AnimaSpec(name=name, role="general"), "general")
            # Awake at any hour: a message between animas is answered now, whatever the time of
            # day the suite runs at (the template's active hours would defer it to a heartbeat).
            files["heartbeat.md"] = f"# Heartbeat: {name}\n\n## Execution Interval\nEvery 30 minutes\n"
            answer = await publish_change(nc, creation_event(name, files, "template:general"), timeout_s=60)
            assert isinstance(answer, MemoryOpApplied), answer

    system.admin(create)


def stored_events(system: RunningSystem, *types: str) -> list[Event]:
    """Every stored activity event of these types, by type, each oldest first."""

    async def read(nc: Client) -> list[Event]:
        found: list[Event] = []
        for event_type in types:
            async for stored in read_activity(nc.jetstream(), event_type=event_type):
                assert stored.event is not None, stored.error
                found.append(stored.event)
        return found

    return system.admin(read)


def lagging_consumers(system: RunningSystem) -> list[str]:
    """The durable consumers of ACTIVITY with messages not yet handled."""

    async def read(nc: Client) -> list[str]:
        lagging = []
        for info in await nc.jetstream().consumers_info(ACTIVITY_STREAM):
            if info.num_pending or info.num_ack_pending:
                lagging.append(f"{info.name}: pending={info.num_pending} unacked={info.num_ack_pending}")
        return lagging

    return system.admin(read)


def dead_letters(system: RunningSystem) -> list[str]:
    """Every dead letter: its subject and the reason its service gave."""

    async def read(nc: Client) -> list[str]:
        return [
            f"{msg.subject}: {(msg.headers or {}).get(HEADER_DEADLETTER_REASON)}"
            async for msg in read_stored(nc.jetstream(), ">", stream=DEADLETTER_STREAM)
        ]

    return system.admin(read)


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str, every_s: float = 0.1) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g}s waiting for {what}")
        time.sleep(every_s)


def supervised_pids(system: RunningSystem) -> dict[str, int]:
    """``run/services.json`` (empty for the moment the supervisor rewrites it)."""
    try:
        pids = json.loads((system.home / "run" / "services.json").read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return {name: int(pid) for name, pid in pids.items() if pid}


def _reported_since(system: RunningSystem, since_wall: float) -> set[tuple[str, int]]:
    """(service, pid) of every health record written after ``since_wall`` (``time.time()``)."""

    async def read(nc: Client) -> set[tuple[str, int]]:
        records = await read_health_records(nc.jetstream())
        return {
            (str(r["service"]), int(str(r["pid"])))
            for r in records
            if float(str(r.get("ts", 0))) > since_wall
        }

    try:
        return system.admin(read)
    except Exception:  # the broker is restarting or JetStream is recovering: not yet
        return set()


def _healthy(system: RunningSystem, name: str, pid: int, since_wall: float) -> bool:
    """Whether the process ``pid`` of ``name`` (``agent-runner#2``…) reported health since then."""
    if (name.split("#")[0], pid) not in _reported_since(system, since_wall):
        return False
    if name != "gateway":
        return True
    try:  # reporting is not listening: the gateway is back when its HTTP side answers too
        return httpx.get(f"{system.url}/api/health", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@dataclasses.dataclass(frozen=True)
class Kill:
    """One SIGKILL and how long the system took to have the process back and healthy."""

    name: str
    old_pid: int
    new_pid: int
    at: float
    """``time.monotonic()`` of the kill."""
    recovered_s: float


@dataclasses.dataclass(frozen=True)
class Killed:
    """A process just SIGKILLed, not yet back."""

    name: str
    """As in ``run/services.json``: ``agent-runner#2``, ``nats-server``…"""
    old_pid: int
    at: float
    """``time.monotonic()`` of the kill."""
    at_wall: float
    """``time.time()`` of the kill: health records written after it say their writer is back."""

    def recovered(self, system: RunningSystem) -> Kill:
        """Wait until the supervisor's new process is healthy: for a service, its own health
        record (and, for the gateway, its HTTP side); for nats-server, every service reporting
        through the new server."""
        new: list[int] = []

        def back() -> bool:
            pids = supervised_pids(system)
            pid = pids.get(self.name)
            if pid in (None, self.old_pid):
                return False
            new[:] = [pid]
            if self.name != NATS_SERVER:
                return _healthy(system, self.name, pid, self.at_wall)
            services = {(n.split("#")[0], p) for n, p in pids.items() if n.split("#")[0] in SERVICE_NAMES}
            return services <= _reported_since(system, self.at_wall)

        wait_for(back, RECOVERY_BOUND_S, f"{self.name} to be back and healthy after SIGKILL")
        return Kill(self.name, self.old_pid, new[0], self.at, time.monotonic() - self.at)


def sigkill(system: RunningSystem, name: str) -> Killed:
    """SIGKILL the supervised process ``name`` now."""
    pid = supervised_pids(system)[name]
    killed = Killed(name, pid, time.monotonic(), time.time())
    os.kill(pid, signal.SIGKILL)
    return killed


def kill_and_recover(system: RunningSystem, name: str) -> Kill:
    """SIGKILL ``name`` and return once it is back and healthy."""
    return sigkill(system, name).recovered(system)


def log_mentions(system: RunningSystem, phrase: str, service: str = "agent-runner") -> int:
    """How often ``phrase`` is in the logs of ``service`` (all its replicas, all its restarts)."""
    logs = (system.home / "run" / "logs").glob(f"{service}*.log")
    return sum(log.read_text(errors="replace").count(phrase) for log in logs)
