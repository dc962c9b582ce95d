"""The probe file the Kubernetes exec probes read, kept by a real service runtime on a real broker.

Ready while NATS takes the health reports; when the broker goes away the loop keeps writing
(alive) but ``ready`` stays at the last accepted report, so the readiness probe fails and the
liveness probe does not: the pod is taken out of rotation, not restarted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from nats.errors import ConnectionReconnectingError
from pydantic import SecretStr
from tests.conftest import provision

from animas_core.probe import main
from animas_core.runtime import ServiceRuntime
from animas_core.settings import NatsSettings, ServiceSettings
from animas_tools.nats_server import NatsServer, NatsUser, load_or_create_users

pytestmark = [pytest.mark.nats]


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[tuple[NatsServer, dict[str, NatsUser]]]:
    users = load_or_create_users(tmp_path / "users.json")
    server = NatsServer(tmp_path / "nats", users=users).start()
    try:
        asyncio.run(provision(server.url, users))
        yield server, users
    finally:
        server.stop()


async def _until(
    path: Path, done: Callable[[dict[str, Any]], bool], timeout_s: float = 30.0
) -> dict[str, Any]:
    """The probe file's content once ``done(content)`` holds."""
    async with asyncio.timeout(timeout_s):
        while True:
            if path.exists():
                data: dict[str, Any] = json.loads(path.read_text())
                if done(data):
                    return data
            await asyncio.sleep(0.05)


async def test_ready_while_nats_takes_reports_alive_after_it_is_gone(
    broker: tuple[NatsServer, dict[str, NatsUser]], tmp_path: Path
) -> None:
    server, users = broker
    path = tmp_path / "probe.json"
    settings = ServiceSettings(home=tmp_path, probe_file=path, health_interval_s=0.1)
    nats = NatsSettings(url=server.url, user="scheduler", password=SecretStr(users["scheduler"].password))
    runtime = ServiceRuntime("scheduler", settings, nats)
    await runtime.connect()
    await runtime.start()
    try:
        first = await _until(path, lambda d: d["ready"] is not None)
        assert first["ready"] == first["alive"]
        assert main(["ready", "--file", str(path)], now=lambda: float(first["alive"] or 0)) == 0

        server.stop()
        gone = await _until(path, lambda d: d["ready"] is not None and d["alive"] > d["ready"])
        alive, ready = float(gone["alive"] or 0), float(gone["ready"] or 0)
        # Judged at the moment of the last round, with a limit below the gap: unready, alive.
        limit = str((alive - ready) / 2)
        assert main(["ready", "--file", str(path), "--max-age", limit], now=lambda: alive) == 1
        assert main(["live", "--file", str(path), "--max-age", limit], now=lambda: alive) == 0
    finally:
        # The broker is gone: the connection cannot drain, and says so.
        with contextlib.suppress(ConnectionReconnectingError):
            await runtime.stop()
