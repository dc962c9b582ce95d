"""`anima status` with the broker gone: it says so at once and shows the supervisor's processes.

No nats-server here: the recorded URL points at a port nobody listens on (the frozen-broker case,
which accepts the connection and says nothing, is in tests/e2e/test_supervised_system.py).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
from pathlib import Path

from typer.testing import CliRunner

from animas_core.home import Home
from animas_tools.cli import app
from animas_tools.system import SystemInfo


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_status_with_the_broker_down_says_so_and_lists_the_processes(tmp_path: Path) -> None:
    home = Home(tmp_path)
    url = f"nats://127.0.0.1:{_closed_port()}"
    # This test's own process stands in for a live supervisor and a live service.
    SystemInfo(url, "http://127.0.0.1:1", os.getpid(), embedded_nats=True).write(home)
    services = {"gateway": os.getpid(), "agent-runner#2": _dead_pid(), "nats-server": None}
    (home.run_dir / "services.json").write_text(json.dumps(services))

    result = CliRunner().invoke(app, ["status", "--home", str(tmp_path)])

    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(f"broker: DOWN: {url} did not answer within 2s (ConnectionRefusedError")
    assert f"its log: {home.nats_dir / 'nats-server.log'}" in lines[1]
    assert any(line.split()[:3] == ["gateway", f"pid={os.getpid()}", "running"] for line in lines), lines
    assert any(line.split()[0] == "agent-runner#2" and line.endswith("not running") for line in lines), lines


def test_status_without_a_running_system_names_how_to_start_one(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["status", "--home", str(tmp_path)])
    assert result.exit_code == 1
    assert "no running system" in result.output and "anima up" in result.output
