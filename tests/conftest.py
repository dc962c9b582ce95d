"""Fixtures shared by the integration and end-to-end suites: real servers, real processes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import httpx
import nats
import pytest
from nats.aio.client import Client

from animas_contracts import Event, encode_event
from animas_contracts.subjects import HEADER_MSG_ID, SERVICE_NAMES, activity_subject, inbox_prefix
from animas_core.config import ConfigError, load_config
from animas_core.settings import nats_servers
from animas_core.streams import ensure_all
from animas_tools.authority import ADMIN_USER
from animas_tools.config_sync import apply_config
from animas_tools.nats_server import NatsServer, NatsUser, load_or_create_users
from animas_tools.scripted_llm import ScriptedLLM

T = TypeVar("T")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--nats-url",
        default=None,
        help="run the NATS integration tests against this server instead of a fresh one per test",
    )


@pytest.fixture
def nats_server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh nats-server with JetStream on a random loopback port (no users)."""
    external = request.config.getoption("--nats-url")
    if external:
        yield str(external)
        return
    server = NatsServer(tmp_path / "nats").start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def secured_nats(tmp_path: Path) -> Iterator[tuple[str, dict[str, NatsUser]]]:
    """A nats-server with one user per service and the permissions of authority.py, provisioned.

    As `anima up` leaves it: the operator (``admin``) has created the streams and buckets, which
    services may not. A test that needs a stream set up differently changes it as the admin.
    """
    users = load_or_create_users(tmp_path / "users.json")
    server = NatsServer(tmp_path / "nats", users=users).start()
    try:
        asyncio.run(provision(server.url, users))
        yield server.url, users
    finally:
        server.stop()


async def provision(url: str, users: dict[str, NatsUser] | None = None, **kwargs: Any) -> int:
    """Create the streams and buckets as the operator would (as ``admin`` when there are users)."""
    password = users[ADMIN_USER].password if users else None
    nc = await nats.connect(url, user=ADMIN_USER if users else None, password=password)
    try:
        return await ensure_all(nc.jetstream(), **kwargs)
    finally:
        await nc.close()


async def connect_as(url: str, user: NatsUser, **kwargs: Any) -> Client:
    """A plain nats-py connection as ``user``; a service's user gets its own inbox prefix.

    A service's NATS user may subscribe only to ``_INBOX.<service>.>`` (authority.py), and
    requests, JetStream publishes and fetches all reply to an inbox.
    """
    if user.name in SERVICE_NAMES:
        kwargs.setdefault("inbox_prefix", inbox_prefix(user.name))
    return await nats.connect(url, user=user.name, password=user.password, **kwargs)


@pytest.fixture
def scripted_llm() -> Iterator[ScriptedLLM]:
    """A scripted OpenAI-compatible LLM server on a random port."""
    with ScriptedLLM() as llm:
        yield llm


class RunningSystem:
    """AnimaWorks as `anima up` starts it, in a temporary home."""

    def __init__(self, home: Path, process: subprocess.Popen[str], output: Path) -> None:
        self.home = home
        self.process = process
        self.output = output
        self.info: dict[str, Any] = {}

    def wait_ready(self, timeout_s: float = 120.0) -> None:
        system_file = self.home / "run" / "system.json"
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"anima up exited early:\n{self.output.read_text()}")
            if system_file.exists():
                self.info = json.loads(system_file.read_text())
                return
            time.sleep(0.1)
        raise AssertionError(f"anima up not ready in {timeout_s}s:\n{self.output.read_text()}")

    @property
    def url(self) -> str:
        return str(self.info["gateway_url"])

    def chat(self, anima: str, message: str, timeout_s: float = 60.0, **extra: Any) -> httpx.Response:
        return httpx.post(
            f"{self.url}/api/animas/{anima}/chat", json={"message": message, **extra}, timeout=timeout_s
        )

    def pid(self, service: str) -> int | None:
        pids = json.loads((self.home / "run" / "services.json").read_text())
        value = pids.get(service)
        return int(value) if value else None

    def anima(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run the `anima` CLI against this system."""
        result = subprocess.run(
            [sys.executable, "-m", "animas_tools.cli", *args],
            env={**os.environ, "ANIMAWORKS_HOME": str(self.home)},
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"anima {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
            )
        return result

    def admin(self, work: Callable[[Client], Awaitable[T]]) -> T:
        """Run ``work`` on a NATS connection as the operator (the ``admin`` user)."""
        password = json.loads((self.home / "nats" / "users.json").read_text())["admin"]

        async def run() -> T:
            nc = await nats.connect(nats_servers(self.info["nats_url"]), user="admin", password=password)
            try:
                return await work(nc)
            finally:
                await nc.close()

        return asyncio.run(run())

    def publish(self, event: Event) -> None:
        """Store ``event`` on its activity subject as the service that owns it would."""

        async def send(nc: Client) -> None:
            await nc.jetstream().publish(
                activity_subject(event.anima, event.event_type),
                encode_event(event),
                headers={HEADER_MSG_ID: event.id},
            )

        self.admin(send)

    def events(self, anima: str, event_type: str) -> list[dict[str, Any]]:
        """An anima's stored events of one type, as `anima events --json` prints them."""
        out = self.anima("events", "--json", "--anima", anima, "--type", event_type).stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def configure(self, config: dict[str, Any]) -> None:
        """Replace config.json; on a running system, wait until every service instance holds it.

        `anima up` would publish the file to the CONFIG bucket on its own, a moment later; doing it
        here, as `anima config set` does, lets the test's next request find the change applied.
        """
        path = self.home / "config.json"
        path.write_text(json.dumps(config))
        os.chmod(path, 0o600)
        if not self.info:
            return
        try:
            parsed = load_config(path)
        except ConfigError:
            return  # services keep the last valid config, as with an invalid file edited by hand
        applied = self.admin(lambda nc: apply_config(nc.jetstream(), parsed))
        assert not applied.behind, f"config revision {applied.revision} not taken by {applied.behind}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def wait_until(condition: Callable[[], object], timeout_s: float = 90.0, what: str = "a condition") -> None:
    """Poll ``condition`` until it is truthy; fail after ``timeout_s`` (a bound, not a measurement)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)


def start_system(home: Path, env: dict[str, str] | None = None, args: Sequence[str] = ()) -> RunningSystem:
    """Run `anima up` on a free gateway port in ``home`` (with ``args`` added) and wait until it is ready."""
    home.mkdir(parents=True, exist_ok=True)
    output = home.parent / f"{home.name}-up.log"
    handle = open(output, "w")  # noqa: SIM115 - the child writes to it for its whole life
    process = subprocess.Popen(
        [sys.executable, "-m", "animas_tools.cli", "up", "--home", str(home), "--port", "0", *args],
        # The bundled local model stays off unless a test asks for it: loading it takes CPU-minutes.
        # The scheduler is paused too: a real heartbeat at :00 or :30 would take scripted turns.
        env={
            **os.environ,
            "ANIMAWORKS_HOME": str(home),
            "ANIMAWORKS_LOCAL_MODEL": "false",
            "ANIMAWORKS_SCHEDULER_PAUSED": "true",
            **(env or {}),
        },
        stdout=handle,
        stderr=subprocess.STDOUT,
        text=True,
    )
    handle.close()
    system = RunningSystem(home, process, output)
    try:
        system.wait_ready()
    except BaseException:
        system.stop()
        raise
    return system


def settled(system: RunningSystem) -> bool:
    """Whether memory-writer has applied everything stored so far."""
    line = next(x for x in system.anima("status").stdout.splitlines() if "memory-writer-activity" in x)
    return "pending=0 " in line and "unacked=0 " in line


def scripted_config(llm: ScriptedLLM, animas: tuple[str, ...] = ("sample",)) -> dict[str, Any]:
    """A config.json whose animas all talk to the scripted LLM."""
    return {
        "version": 1,
        "credentials": {"scripted": {"api_key": "scripted-key", "base_url": llm.openai_base}},
        "anima_defaults": {"model": "openai/scripted", "credential": "scripted"},
        "animas": {name: {} for name in animas},
    }
