"""Crash window (b): agent-runner dies after publishing response.sent and before acking the message."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from tests.conftest import RunningSystem, scripted_config, start_system

from animas_tools.scripted_llm import ScriptedLLM

pytestmark = [pytest.mark.e2e, pytest.mark.nats, pytest.mark.slow]


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM() as server:
        yield server


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    # The fault point makes agent-runner SIGKILL itself right after response.sent is stored.
    env = {"ANIMAWORKS_ACK_WAIT_S": "3", "ANIMAWORKS_FAULTS": "after-response-sent"}
    running = start_system(tmp_path_factory.mktemp("crash-b") / "home", env)
    try:
        yield running
    finally:
        running.stop()


def test_killed_after_the_reply_is_stored_the_message_is_answered_once(
    system: RunningSystem, llm: ScriptedLLM
) -> None:
    system.configure(scripted_config(llm))
    llm.load([{"text": "the one and only reply"}, {"text": "a second reply must never be asked for"}])
    first_runner = system.pid("agent-runner")

    body = system.chat("sample", "answer me once").json()

    assert body["reply"] == "the one and only reply"
    # Wait until the restarted runner has taken the redelivery and closed the cycle.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        lines = system.anima(
            "events", "--correlation-id", body["correlation_id"], "--json"
        ).stdout.splitlines()
        types = [json.loads(line)["type"] for line in lines]
        if "cycle.finished" in types:
            break
        time.sleep(0.3)
    assert types == ["message.received", "cycle.started", "llm.called", "response.sent", "cycle.finished"]
    assert system.pid("agent-runner") != first_runner
    assert len(llm.requests) == 1, "the redelivered message must not call the model again"
    status = system.anima("status").stdout
    runner_lines = [line for line in status.splitlines() if "agent-runner-p" in line]
    assert runner_lines and all("unacked=0" in line for line in runner_lines)
