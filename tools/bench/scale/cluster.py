"""A real nats-server and real service processes for the scale benchmark, and what they cost."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import nats
from nats.aio.client import Client

from animas_contracts.subjects import ACTIVITY_STREAM
from animas_core.streams import ensure_all
from animas_tools.authority import ADMIN_USER
from animas_tools.nats_server import NatsServer, NatsUser, load_or_create_users

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass
class Bench:
    """One nats-server, the operator's connection, and the service processes started on it."""

    work: Path
    server: NatsServer
    users: dict[str, NatsUser]
    admin: Client
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def home(self) -> Path:
        return self.work / "home"

    def start_service(self, service: str, **env: str) -> subprocess.Popen[bytes]:
        """Start ``python -m animas_<service>`` as its own NATS user, logging to ``<work>/<service>.log``."""
        user = self.users[service]
        environment = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),  # noqa: TID251 (finding the interpreter's tools)
            "ANIMAWORKS_NATS_URL": self.server.url,
            "ANIMAWORKS_NATS_USER": user.name,
            "ANIMAWORKS_NATS_PASSWORD": user.password,
            "ANIMAWORKS_HOME": str(self.home),
            "ANIMAWORKS_LOG_LEVEL": "WARNING",
            **env,
        }
        log = (self.work / f"{service}.log").open("wb")
        module = "animas_" + service.replace("-", "_")
        process = subprocess.Popen([sys.executable, "-m", module], env=environment, stdout=log, stderr=log)
        self.processes[service] = process
        return process

    async def quiet(self, durable: str, timeout_s: float = 7200.0) -> int:
        """Wait until ``durable`` has acked the whole activity stream and nothing new comes; its end."""
        js = self.admin.jetstream()
        deadline = asyncio.get_running_loop().time() + timeout_s
        calm, last = 0, -1
        while asyncio.get_running_loop().time() < deadline:
            end = (await js.stream_info(ACTIVITY_STREAM)).state.last_seq
            try:
                info = await js.consumer_info(ACTIVITY_STREAM, durable)
                acked = info.ack_floor.stream_seq if info.ack_floor is not None else 0
            except nats.js.errors.NotFoundError:
                acked = -1
            calm = calm + 1 if acked == end == last else 0
            last = end
            if calm >= 4:
                return end
            await asyncio.sleep(0.25)
        raise TimeoutError(f"{durable} did not catch up with {ACTIVITY_STREAM} in {timeout_s:.0f} s")


@asynccontextmanager
async def bench(work: Path) -> AsyncIterator[Bench]:
    """A provisioned nats-server under ``work``; every process started is stopped on the way out."""
    (work / "home").mkdir(parents=True, exist_ok=True)
    users = load_or_create_users(work / "users.json")
    server = NatsServer(work / "nats", users=users).start()
    admin = await nats.connect(server.url, user=ADMIN_USER, password=users[ADMIN_USER].password)
    running = Bench(work=work, server=server, users=users, admin=admin)
    try:
        await ensure_all(admin.jetstream())
        yield running
    finally:
        for process in running.processes.values():
            process.terminate()
        for process in running.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        await admin.close()
        server.stop()


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds a process has used (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_mib(pid: int) -> float:
    """Resident memory of a process in MiB (``/proc/<pid>/status``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0
