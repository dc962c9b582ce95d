"""What `anima up` gives each process, and what `anima status` says (issue #12, items 4, 9, 11a).

One `anima up --agent-runners 2` in a temporary home, started with model keys and an unrelated
token in its environment. The environments are read from /proc/<pid>/environ of the running
children; the broker is frozen with SIGSTOP to see `anima status` answer anyway.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conftest import RunningSystem, start_system

pytestmark = [pytest.mark.e2e, pytest.mark.nats, pytest.mark.slow]

MODEL_KEY = "ANIMAWORKS_CREDENTIAL_SUPERVISED_API_KEY"
PROVIDER_KEY = "OPENAI_API_KEY"
UNRELATED = "UNRELATED_DEPLOY_TOKEN"
SECRET_ENV = {MODEL_KEY: "sk-model-key", PROVIDER_KEY: "sk-provider-key", UNRELATED: "deploy-token"}
MODEL_CALLERS = ("agent-runner", "agent-runner#2", "consolidator")
"""agent-runner runs cycles; consolidator asks the anima's model for consolidation decisions."""


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    env = {"ANIMAWORKS_AGENT_RUNNERS": "2", **SECRET_ENV}
    running = start_system(tmp_path_factory.mktemp("supervised") / "home", env)
    try:
        yield running
    finally:
        running.stop()


def _pids(system: RunningSystem) -> dict[str, int]:
    pids = json.loads((system.home / "run" / "services.json").read_text())
    return {name: int(pid) for name, pid in pids.items() if pid}


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {key.decode(): value.decode(errors="replace") for key, value in pairs}


def test_model_keys_reach_only_the_services_that_call_models(system: RunningSystem) -> None:
    pids = _pids(system)
    assert {*MODEL_CALLERS, "gateway", "memory-writer", "nats-server"} <= set(pids)
    for name, pid in pids.items():
        env = _environ(pid)
        assert UNRELATED not in env, name
        if name in MODEL_CALLERS:
            assert env[MODEL_KEY] == SECRET_ENV[MODEL_KEY] and env[PROVIDER_KEY] == SECRET_ENV[PROVIDER_KEY]
        else:
            assert MODEL_KEY not in env and PROVIDER_KEY not in env, f"{name} got a model key"
        if name == "nats-server":
            assert not any(key.startswith("ANIMAWORKS_") for key in env), env
            continue
        # Each service connects as its own NATS user, with only its own password.
        assert env["ANIMAWORKS_NATS_USER"] == name.split("#")[0]
        assert "PATH" in env and env["ANIMAWORKS_HOME"]


def test_status_lists_every_agent_runner_replica(system: RunningSystem) -> None:
    pids = _pids(system)
    out = system.anima("status").stdout
    services = out.split("services:", 1)[1].split("streams:", 1)[0].splitlines()
    for name in MODEL_CALLERS:
        line = next((x for x in services if x.split()[:1] == [name]), None)
        assert line is not None, f"{name} missing from anima status:\n{out}"
        assert " ready " in line and f"pid={pids[name]} " in line, line
    assert out.startswith("broker: ") and f"pid {pids['nats-server']}" in out.splitlines()[0]


def test_status_says_the_broker_is_down_when_it_does_not_answer(system: RunningSystem) -> None:
    nats_pid = _pids(system)["nats-server"]
    # Frozen rather than killed: the supervisor would restart a dead one within a second, and a
    # server that accepts the connection and then says nothing is the harder case (no refusal).
    os.kill(nats_pid, signal.SIGSTOP)
    try:
        began = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "animas_tools.cli", "status"],
            env={**os.environ, "ANIMAWORKS_HOME": str(system.home)},
            capture_output=True,
            text=True,
            timeout=60,  # a hang fails here; the command itself gives up after its 2 s connect
        )
        took = time.monotonic() - began
    finally:
        os.kill(nats_pid, signal.SIGCONT)
    print(f"anima status with the broker frozen answered in {took:.1f}s")
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.startswith("broker: DOWN: nats://127.0.0.1:"), result.stdout
    assert "gateway" in result.stdout and "agent-runner#2" in result.stdout  # the supervisor's processes
    assert "running" in result.stdout
