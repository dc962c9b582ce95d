"""A long tool goes to the background through `anima up` (#17 item 4, acceptance 5).

http_fetch reads a page from a local fake that takes 3 seconds; config.json lets http_fetch run
1 second before it goes to the background. The cycle that called it gets a handle and finishes;
the fetch ends afterwards and is stored as ``tool.background.finished``; the next cycle's model
request carries its result once (priming's task channel), and the cycle after that does not.
When agent-runner is killed while such a call runs, the restarted one records it as interrupted.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import httpx
import pytest
from tests.conftest import RunningSystem, scripted_config, start_system

from animas_contracts import MemoryOpApplied
from animas_core.anima_files import AnimaSpec, template_files
from animas_tools.animas_cli import creation_event
from animas_tools.fake_web import FakeWeb, Reply
from animas_tools.publish import publish_change
from animas_tools.scripted_llm import ScriptedLLM, ScriptedToolCall, Turn

pytestmark = [pytest.mark.e2e, pytest.mark.nats, pytest.mark.slow]

ANIMA = "fetcher"
COURIER = "courier"
PAGE = "Slow page says: the warehouse audit closes on 19 December (bg-e2e-7f3a)."
MARKER = "bg-e2e-7f3a"
ALWAYS_AWAKE = "## Execution Interval\nEvery 30 minutes\n\n## Active Hours\n0:00 - 24:00\n"
PERMISSIONS = "# Permissions: fetcher\n\n## Available Tools\nhttp_fetch\n"
T = TypeVar("T")


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM() as server:
        yield server


@pytest.fixture(scope="module")
def web() -> Iterator[FakeWeb]:
    slow = dataclasses.replace(Reply.text(PAGE), delay_s=3.0)
    slower = dataclasses.replace(Reply.text("never read"), delay_s=15.0)
    with FakeWeb({("GET", "/audit"): slow, ("GET", "/archive"): slower}) as server:
        yield server


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory, llm: ScriptedLLM, web: FakeWeb
) -> Iterator[RunningSystem]:
    # The restarted agent-runner looks for a killed one's calls once its health record is gone.
    env = {"ANIMAWORKS_BACKGROUND_SWEEP_AFTER_S": "16"}
    running = start_system(tmp_path_factory.mktemp("background-tools") / "home", env)
    try:
        config = scripted_config(llm, (ANIMA, COURIER))
        config["external_tools"] = {
            "http_fetch": {"allowed_hosts": [httpx.URL(web.url).host], "allow_private_addresses": True}
        }
        config["background_task"] = {"eligible_tools": {"http_fetch": {"threshold_s": 1}}}
        running.configure(config)
        for name in (ANIMA, COURIER):
            files = template_files(AnimaSpec(name=name, role="general"), "general")
            files.update({"heartbeat.md": ALWAYS_AWAKE, "permissions.md": PERMISSIONS})
            event = creation_event(name, files, "template:general")
            answer = running.admin(functools.partial(publish_change, event=event, timeout_s=60))
            assert isinstance(answer, MemoryOpApplied), answer
        yield running
    finally:
        running.stop()


def _eventually(probe: Callable[[], T | None], what: str, timeout_s: float = 30.0) -> T:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _asked(llm: ScriptedLLM, needle: str) -> list[dict[str, Any]]:
    return [r for r in llm.requests if needle in json.dumps(r["body"], ensure_ascii=False)]


def test_a_slow_tool_runs_in_the_background_and_its_result_reaches_the_next_cycle_once(
    system: RunningSystem, llm: ScriptedLLM, web: FakeWeb
) -> None:
    ask = "Fetch the warehouse audit page for me"
    fetch = ScriptedToolCall(name="http_fetch", arguments={"url": f"{web.url}/audit"})
    llm.load(
        [
            Turn(match=ask, tool_calls=[fetch]),
            Turn(match="goes on in the background as task", text="It is slow; I will tell you later."),
        ]
    )

    response = system.chat(ANIMA, ask)

    assert response.status_code == 200, response.text
    assert response.json()["reply"] == "It is slow; I will tell you later."
    (used,) = system.events(ANIMA, "tool.used")
    assert used["tool"] == "http_fetch" and used["status"] == "ok" and used["background_task"]
    task_id = used["background_task"]
    (first_cycle_end,) = system.events(ANIMA, "cycle.finished")

    (finished,) = _eventually(lambda: system.events(ANIMA, "tool.background.finished"), "the result")
    assert finished["task_id"] == task_id and finished["status"] == "ok"
    assert PAGE in finished["result"] and finished["correlation_id"] == used["correlation_id"]
    assert first_cycle_end["ts"] < finished["ts"], "the cycle finished before the tool did"
    assert len(web.requests) == 1
    log_dir = system.home / "animas" / ANIMA / "activity_log"
    _eventually(
        lambda: any("background_result" in p.read_text() for p in log_dir.glob("*.jsonl")),
        "memory-writer's background_result entry",
    )

    second, third = "What came of the audit page?", "Anything else on your plate?"
    llm.load([Turn(match=second, text="The audit closes soon."), Turn(match=third, text="Nothing else.")])
    assert system.chat(ANIMA, second).json()["reply"] == "The audit closes soon."
    assert system.chat(ANIMA, third).json()["reply"] == "Nothing else."

    (next_request,) = [r for r in _asked(llm, second) if third not in json.dumps(r["body"])]
    assert json.dumps(next_request["body"], ensure_ascii=False).count(MARKER) == 1
    (after_request,) = _asked(llm, third)
    assert MARKER not in json.dumps(after_request["body"], ensure_ascii=False)
    (delivered,) = system.events(ANIMA, "priming.background.delivered")
    assert delivered["task_id"] == task_id


def test_a_call_running_when_agent_runner_is_killed_is_recorded_as_interrupted(
    system: RunningSystem, llm: ScriptedLLM, web: FakeWeb
) -> None:
    ask = "Fetch the archive page"
    fetch = ScriptedToolCall(name="http_fetch", arguments={"url": f"{web.url}/archive"})
    llm.load(
        [
            Turn(match=ask, tool_calls=[fetch]),
            Turn(match="goes on in the background as task", text="The archive is slow; later."),
        ]
    )
    assert system.chat(COURIER, ask).json()["reply"] == "The archive is slow; later."
    (used,) = system.events(COURIER, "tool.used")
    runner = system.pid("agent-runner")
    assert runner is not None

    os.kill(runner, signal.SIGKILL)

    (finished,) = _eventually(
        lambda: system.events(COURIER, "tool.background.finished"), "the interrupted record", 60
    )
    assert finished["task_id"] == used["background_task"] and finished["status"] == "interrupted"
    assert "process is gone" in finished["error"] and finished["result"] == ""
    assert system.pid("agent-runner") != runner
