"""The cycle survives its process (issue #6): crash mid-stream, two replicas, offline replay.

Real processes from `anima up`, a real nats-server, the scripted LLM over HTTP. ack_wait is 3 s so
that a message held by a killed runner comes back quickly.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import string
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import httpx
import msgspec
import pytest
from nats.aio.client import Client
from tests.conftest import RunningSystem, scripted_config, start_system

from animas_agent_runner.prompt import templates
from animas_agent_runner.replay import recorded_cycle, replay_cycle
from animas_contracts import decode_event
from animas_contracts.subjects import ACTIVITY_STREAM
from animas_core.anima_files import AnimaSpec, template_files
from animas_tools.animas_cli import creation_event
from animas_tools.cycle_replay import cycle_events
from animas_tools.publish import publish_change
from animas_tools.scripted_llm import ScriptedLLM

pytestmark = [pytest.mark.e2e, pytest.mark.nats, pytest.mark.slow]

ANIMAS = tuple(f"worker{n:02d}" for n in range(20))


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM() as server:
        yield server


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory, llm: ScriptedLLM) -> Iterator[RunningSystem]:
    env = {"ANIMAWORKS_ACK_WAIT_S": "3", "ANIMAWORKS_AGENT_RUNNERS": "2"}
    running = start_system(tmp_path_factory.mktemp("durability") / "home", env)
    try:
        running.configure(scripted_config(llm, ("sample", *ANIMAS)))
        yield running
    finally:
        running.stop()


def _events(system: RunningSystem, *args: str) -> list[dict[str, Any]]:
    out = system.anima("events", "--json", *args).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def _wait(condition: Any, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.1)


def _runner_backlog(system: RunningSystem) -> list[tuple[str, int, int]]:
    """agent-runner's durables that still hold messages: (name, pending, unacknowledged)."""

    async def read(nc: Client) -> list[tuple[str, int, int]]:
        infos = await nc.jetstream().consumers_info(ACTIVITY_STREAM)
        return [
            (c.name, c.num_pending or 0, c.num_ack_pending or 0)
            for c in infos
            if c.name.startswith("agent-runner") and ((c.num_pending or 0) or (c.num_ack_pending or 0))
        ]

    return system.admin(read)


@pytest.fixture(autouse=True)
def _quiet_runners(system: RunningSystem) -> None:
    """Each test starts once the one before has no message left at agent-runner.

    A runner killed by a test leaves messages that come back after the ack wait; a cycle they
    start later would take the next test's scripted answers.
    """
    quiet_checks = 0
    deadline = time.monotonic() + 60
    while quiet_checks < 2:
        if time.monotonic() > deadline:
            raise AssertionError(f"agent-runner still holds messages: {_runner_backlog(system)}")
        quiet_checks = quiet_checks + 1 if not _runner_backlog(system) else 0
        time.sleep(0.5)


def _runner_pids(system: RunningSystem) -> dict[str, int]:
    pids = json.loads((system.home / "run" / "services.json").read_text())
    return {name: int(pid) for name, pid in pids.items() if name.startswith("agent-runner") and pid}


def test_a_runner_killed_mid_stream_is_recovered_from_the_journal_and_answers_once(
    system: RunningSystem, llm: ScriptedLLM
) -> None:
    first = " ".join(f"word{n}" for n in range(40))
    llm.load([{"text": first, "chunk_delay_s": 0.1}, {"text": "The whole answer, after recovery."}])
    before = len(llm.requests)
    with ThreadPoolExecutor(1) as pool:
        chat = pool.submit(system.chat, "sample", "tell me everything", 90.0)
        # Kill whichever runner took the message once some of the answer is in the journal.
        _wait(lambda: len(llm.requests) > before)
        time.sleep(1.0)
        cycles = [e for e in _events(system, "--anima", "sample", "--type", "cycle.started")]
        assert cycles, "the cycle should have started"
        for pid in _runner_pids(system).values():
            os.kill(pid, signal.SIGKILL)
        body = chat.result().json()

    assert body["reply"] == "The whole answer, after recovery."
    timeline = _events(system, "--anima", "sample", "--correlation-id", body["correlation_id"])
    replies = [e for e in timeline if e["type"] == "response.sent"]
    recovered = [e for e in timeline if e["type"] == "cycle.recovered"]
    assert len(replies) == 1
    assert len(recovered) == 1 and recovered[0]["attempt"] == 1
    partial = recovered[0]["partial_text"]
    assert partial and first.startswith(partial) and partial != first
    assert len(llm.requests) - before == 2  # the interrupted call, and the one that answered


def test_twenty_animas_on_two_runners_each_answered_once_without_overlap(
    system: RunningSystem, llm: ScriptedLLM
) -> None:
    async def create(nc: Client) -> None:
        for name in ANIMAS:
            files = template_files(AnimaSpec(name=name, role="general"), "general")
            await publish_change(nc, creation_event(name, files, "template:general"))

    system.admin(create)
    _wait(lambda: len(_runner_pids(system)) == 2)
    llm.load([{"text": "Done.", "delay_s": 0.3}], repeat=True)
    messages = [(name, n) for n in range(3) for name in ANIMAS]

    def ask(item: tuple[str, int]) -> httpx.Response:
        return system.chat(item[0], f"job {item[1]} for {item[0]}", 120.0)

    with ThreadPoolExecutor(20) as pool:
        futures = [pool.submit(ask, m) for m in messages]
        time.sleep(2.0)
        victim = _runner_pids(system)["agent-runner#2"]
        os.kill(victim, signal.SIGKILL)
        answers = [f.result() for f in futures]

    assert [a.status_code for a in answers] == [200] * len(messages)
    assert {a.json()["reply"] for a in answers} == {"Done."}
    correlations = {a.json()["correlation_id"] for a in answers}
    events = [e for e in _events(system) if e["correlation_id"] in correlations]
    received = [e for e in events if e["type"] == "message.received"]
    replies = [e for e in events if e["type"] == "response.sent"]
    assert len(received) == len(replies) == len(messages)
    assert len({e["in_reply_to"] for e in replies}) == len(messages)  # one reply per message
    for name in ANIMAS:
        spans = _cycle_spans([e for e in events if e["anima"] == name])
        assert len(spans) == 3
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert end <= start, f"{name}'s cycles overlap"


def _cycle_spans(events: list[dict[str, Any]]) -> list[tuple[datetime, datetime]]:
    starts = {e["id"]: e["ts"] for e in events if e["type"] == "cycle.started"}
    ends = {e["cycle_id"]: e["ts"] for e in events if e["type"] == "cycle.finished"}
    return sorted((datetime.fromisoformat(starts[c]), datetime.fromisoformat(ends[c])) for c in starts)


def test_a_recorded_cycle_replays_offline_and_its_prompt_is_diffed(
    system: RunningSystem, llm: ScriptedLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm.load(
        [
            {
                "text": "Let me note that.",
                "tool_calls": [{"name": "remember", "arguments": {"topic": "Tanaka", "fact": "Likes tea"}}],
            },
            {"text": "Noted: Tanaka likes tea."},
        ]
    )
    body = system.chat("sample", "remember that Tanaka likes tea").json()
    assert body["reply"] == "Noted: Tanaka likes tea."
    started = _events(system, "--anima", "sample", "--correlation-id", body["correlation_id"])
    cycle_id = next(e["id"] for e in started if e["type"] == "cycle.started")

    report = system.anima("replay", "cycle", cycle_id, "--anima", "sample").stdout
    print(report)
    assert "prompt: identical to the recording" in report
    assert "model calls: 2 recorded, 2 replayed" in report
    assert "reply: identical to the recorded reply" in report

    # The same cycle against a build whose behaviour rules say something new.
    raw = system.admin(lambda nc: cycle_events(nc.jetstream(), cycle_id, "sample"))
    cycle = recorded_cycle([decode_event(line) for line in raw], cycle_id)
    original = templates._source

    def changed(name: str) -> string.Template:
        source = original(name)
        if name != "behaviour_rules":
            return source
        return string.Template(source.template.rstrip() + "\n- Always answer in haiku.\n")

    monkeypatch.setattr(templates, "_source", changed)
    changed_report = asyncio.run(replay_cycle(cycle))
    assert any(line == "+- Always answer in haiku." for line in changed_report.prompt_diff)
    assert changed_report.replayed_reply == "Noted: Tanaka likes tea."
    assert msgspec.json.encode(cycle.started.inputs)  # the recipe round-trips


def test_a_session_past_the_context_threshold_continues_from_its_saved_state(
    system: RunningSystem, llm: ScriptedLLM
) -> None:
    # The scripted model reports 20k prompt tokens: past half of the 32k window litellm assumes.
    llm.load(
        [
            {
                "text": "Reading the reports.",
                "tool_calls": [{"name": "list_tasks", "arguments": {}}],
                "prompt_tokens": 20000,
            },
            {"text": "All reports read; nothing is overdue."},
        ]
    )
    before = len(llm.requests)
    body = system.chat("sample", "go through every report").json()

    assert body["reply"] == "All reports read; nothing is overdue."
    first, second = (r["body"]["messages"] for r in llm.requests[before:])
    assert [m["role"] for m in first][-1] == "user" and len(first) >= 2
    assert [m["role"] for m in second] == ["system", "user"]  # a new session, not the old messages
    state = second[1]["content"]
    assert "Already said to the user" in state and "Reading the reports." in state
    assert "list_tasks → result" in state and "[human] go through every report" in state
    timeline = _events(system, "--anima", "sample", "--correlation-id", body["correlation_id"])
    chained = [e for e in timeline if e["type"] == "cycle.chained"]
    assert [c["chain"] for c in chained] == [1]
    saved = system.home / "animas" / "sample" / chained[0]["state_path"]
    _wait(saved.exists)
    assert "Reading the reports." in saved.read_text()
