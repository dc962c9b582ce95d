"""The system under test: a fresh home, the scripted LLM, ``anima up`` and the benchmark's animas.

Everything runs as its own OS process, as a person runs it: the scripted LLM
(``python -m animas_tools.scripted_llm``, so its HTTP threads do not share this process's GIL with
the clients that measure), and ``anima up --no-local-model`` (nats-server and every service).
Animas are created as ``anima create NAME --template general`` creates them: an ``anima.created``
event published as the operator, answered by memory-writer.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx
from nats.aio.client import Client
from nats.js.errors import NotFoundError

from animas_contracts import MemoryOpApplied
from animas_contracts.subjects import ACTIVITY_STREAM
from animas_core.anima_files import AnimaSpec, template_files
from animas_core.config import parse_config, write_config
from animas_core.home import Home
from animas_tools.animas_cli import creation_event
from animas_tools.publish import publish_change
from animas_tools.system import SystemInfo, connect_admin

SCRIPTED_REPLY = "Noted, thank you."
"""What the scripted model answers to every request, at once (one repeating turn, no delay)."""


class SystemFailed(RuntimeError):
    """A process of the system under test did not start or stopped early."""


def anima_names(count: int) -> tuple[str, ...]:
    """``bench-01``, ``bench-02``, …: valid anima names that sort in creation order."""
    return tuple(f"bench-{i:02d}" for i in range(1, count + 1))


def _wait_for_file(path: Path, process: subprocess.Popen[bytes], log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        if process.poll() is not None:
            raise SystemFailed(f"{process.args!r} exited with {process.returncode}; see {log}")
        if time.monotonic() > deadline:
            raise SystemFailed(f"{process.args!r} not ready after {timeout_s:g} s; see {log}")
        time.sleep(0.05)


def _stop(process: subprocess.Popen[bytes] | None, timeout_s: float = 60.0) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class BenchSystem:
    """The running system in ``workdir``; a context manager that stops every process it started."""

    def __init__(self, workdir: Path, *, ready_timeout_s: float = 180.0) -> None:
        self.workdir = workdir
        self.home = Home(workdir / "home")
        self.ready_timeout_s = ready_timeout_s
        self.llm_url = ""
        self.info: SystemInfo | None = None
        self._llm: subprocess.Popen[bytes] | None = None
        self._up: subprocess.Popen[bytes] | None = None

    @property
    def gateway_url(self) -> str:
        """The gateway's base URL (``http://127.0.0.1:PORT``)."""
        if self.info is None or self.info.gateway_url is None:
            raise SystemFailed("the system is not running")
        return self.info.gateway_url

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Start the scripted LLM, write config.json for it, run ``anima up`` and wait until ready."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        script, url_file = self.workdir / "script.json", self.workdir / "llm-url"
        script.write_text(json.dumps({"turns": [{"text": SCRIPTED_REPLY}], "repeat": True}), encoding="utf-8")
        self._llm = self._spawn(
            "scripted-llm",
            ["-m", "animas_tools.scripted_llm", "--script", str(script), "--url-file", str(url_file)],
        )
        _wait_for_file(url_file, self._llm, self.workdir / "scripted-llm.log", 30.0)
        self.llm_url = url_file.read_text(encoding="utf-8").strip()
        config = {
            "version": 1,
            "credentials": {"scripted": {"api_key": "scripted-key", "base_url": self.llm_url + "/v1"}},
            "anima_defaults": {"model": "openai/scripted", "credential": "scripted"},
        }
        write_config(self.home.config_file, parse_config(config))
        self._up = self._spawn(
            "anima-up",
            [
                *("-m", "animas_tools.cli", "up", "--home", str(self.home.root)),
                *("--port", "0", "--no-local-model", "--ready-timeout", str(self.ready_timeout_s)),
            ],
        )
        _wait_for_file(
            SystemInfo.path(self.home), self._up, self.workdir / "anima-up.log", self.ready_timeout_s + 30
        )
        self.info = SystemInfo.read(self.home)

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        with open(self.workdir / f"{name}.log", "wb") as log:
            return subprocess.Popen(
                [sys.executable, *args], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )

    def stop(self) -> None:
        """Stop ``anima up`` (it stops its services and nats-server), then the scripted LLM."""
        _stop(self._up)
        _stop(self._llm)
        self._up = self._llm = None

    async def connect(self) -> Client:
        """A NATS connection as the operator, as the ``anima`` CLI makes one."""
        return await connect_admin(self.home, None)

    def llm_served(self) -> int | None:
        """How many model requests the scripted LLM has answered, from its ``/_health``."""
        try:
            served = httpx.get(f"{self.llm_url}/_health", timeout=10).json().get("served")
        except (httpx.HTTPError, ValueError):
            return None
        return served if isinstance(served, int) else None


async def create_animas(nc: Client, names: tuple[str, ...], timeout_s: float = 60.0) -> None:
    """Create each anima from the general template, as ``anima create NAME --template general`` does."""
    for name in names:
        event = creation_event(
            name, template_files(AnimaSpec(name=name, role="general"), "general"), "template:general"
        )
        answer = await publish_change(nc, event, timeout_s=timeout_s)
        if not isinstance(answer, MemoryOpApplied):
            raise SystemFailed(f"could not create {name}: {answer.reason}")


async def wait_listed(
    client: httpx.AsyncClient, gateway: str, names: tuple[str, ...], timeout_s: float
) -> None:
    """Wait until the gateway's directory (cached for a second) lists every anima."""
    deadline = time.monotonic() + timeout_s
    while True:
        listed = {a["name"] for a in (await client.get(f"{gateway}/api/animas")).json().get("animas", [])}
        if listed >= set(names):
            return
        if time.monotonic() > deadline:
            raise SystemFailed(f"the gateway does not list {sorted(set(names) - listed)}")
        await asyncio.sleep(0.2)


async def settle(nc: Client, timeout_s: float = 300.0) -> float:
    """Wait until every durable consumer of the activity stream has caught up; the seconds it took.

    Background work a chat leaves behind (today's episode written, re-indexed by priming, events
    read by the consolidator) would otherwise run into the next phase's measurements.
    """
    js = nc.jetstream()
    began = time.monotonic()
    while time.monotonic() - began < timeout_s:
        try:
            consumers = await js.consumers_info(ACTIVITY_STREAM)
        except NotFoundError:
            return time.monotonic() - began
        durable = [c for c in consumers if c.config.durable_name]
        if all(c.num_pending == 0 and c.num_ack_pending == 0 for c in durable):
            return time.monotonic() - began
        await asyncio.sleep(0.2)
    return time.monotonic() - began


async def stream_last_seq(nc: Client) -> int:
    """The activity stream's last sequence number now."""
    return int((await nc.jetstream().stream_info(ACTIVITY_STREAM)).state.last_seq)
