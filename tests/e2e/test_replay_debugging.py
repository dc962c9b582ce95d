"""Replay past one cycle (issue #18 item 5), against the system as `anima up` starts it.

Two recorded chats (one with a tool call) are exported as an incident and replayed offline with
no broker, replayed by time range, and forked with another model on the scripted LLM: the fork
writes nothing outside its shadow folder and publishes nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from nats.aio.client import Client
from tests.conftest import RunningSystem, scripted_config, settled, start_system, wait_until

from animas_contracts.subjects import ACTIVITY_STREAM
from animas_tools.scripted_llm import ScriptedLLM

pytestmark = [pytest.mark.e2e, pytest.mark.nats, pytest.mark.slow]


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM() as server:
        yield server


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory, llm: ScriptedLLM) -> Iterator[RunningSystem]:
    running = start_system(tmp_path_factory.mktemp("replay") / "home")
    try:
        running.configure(scripted_config(llm))
        # A change of config reaches agent-runner a moment later: answered once it has.
        llm.load([{"text": "Ready."}], repeat=True)
        wait_until(lambda: running.chat("sample", "ready?").json().get("reply") == "Ready.", what="the model")
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def chats(system: RunningSystem, llm: ScriptedLLM) -> list[dict[str, Any]]:
    """Two answered chats; each one's cycle.started as stored."""
    llm.load(
        [
            {
                "text": "Let me note that.",
                "tool_calls": [{"name": "remember", "arguments": {"topic": "Tanaka", "fact": "Likes tea"}}],
            },
            {"text": "Noted: Tanaka likes tea."},
            {"text": "Hello, Tanaka."},
        ]
    )
    first = system.chat("sample", "remember that Tanaka likes tea").json()
    second = system.chat("sample", "hello").json()
    assert (first["reply"], second["reply"]) == ("Noted: Tanaka likes tea.", "Hello, Tanaka.")
    started = system.events("sample", "cycle.started")
    wait_until(lambda: settled(system), what="memory-writer to apply the chats")
    return [next(e for e in started if e["correlation_id"] == b["correlation_id"]) for b in (first, second)]


def _cli(cwd: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "animas_tools.cli", *args],
        env={**os.environ, "ANIMAWORKS_HOME": str(home)},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _files(root: Path) -> dict[str, str]:
    """Every file under ``root`` but the broker's store (checked by sequence), by content digest."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.relative_to(root).parts[0] != "nats"
    }


def _steady_files(root: Path) -> dict[str, str]:
    """The home's files once two looks in a row agree (indexing may still be finishing)."""
    before = _files(root)
    for _ in range(100):
        time.sleep(0.2)
        now = _files(root)
        if now == before:
            return now
        before = now
    raise AssertionError("the home's files kept changing")


def _last_seq(system: RunningSystem) -> int:
    async def read(nc: Client) -> int:
        return (await nc.jetstream().stream_info(ACTIVITY_STREAM)).state.last_seq

    return system.admin(read)


def test_an_exported_incident_replays_offline_to_the_same_events(
    system: RunningSystem, chats: list[dict[str, Any]], tmp_path: Path
) -> None:
    started = chats[0]
    file = tmp_path / "incident.json"
    exported = system.anima(
        "incident", "export", "--correlation-id", started["correlation_id"], "-o", str(file)
    )
    assert f"to {file}" in exported.stdout
    incident = json.loads(file.read_text())
    assert (incident["format"], incident["version"]) == ("animaworks-incident", 1)
    types = [e["event"]["type"] for e in incident["events"]]
    assert {"message.received", "cycle.started", "llm.called", "tool.used", "response.sent"} <= set(types)
    recorded = {e["event"]["type"]: e["event"] for e in incident["events"]}
    assert recorded["cycle.started"]["inputs"]["inline"] is not None  # bodies travel with the file

    # A home with no system at all: the replay needs no broker.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shadow = tmp_path / "shadow"
    replayed = _cli(elsewhere, tmp_path / "no-home", "replay", "incident", str(file), "--shadow", str(shadow))
    print(replayed.stdout)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert "1 cycle(s) replayed: 1 same, 0 diverged" in replayed.stdout
    kept = json.loads((shadow / "cycles" / f"{started['id']}.json").read_text())
    assert kept["prompt"]["same"] and kept["tool_calls"]["same"] and kept["reply"]["same"]
    tool = recorded["tool.used"]
    assert kept["tool_calls"]["replayed"] == [{"tool": tool["tool"], "arguments": tool["arguments"]}]
    assert kept["reply"]["replayed"] == recorded["response.sent"]["text"]
    assert kept["model_calls"] == {"recorded": 2, "replayed": 2}
    assert list(elsewhere.iterdir()) == [] and not (tmp_path / "no-home").exists()


def test_a_time_range_replays_the_cycles_that_started_in_it(
    system: RunningSystem, chats: list[dict[str, Any]], tmp_path: Path
) -> None:
    first, second = (c["ts"] for c in chats)
    both = system.anima("replay", "range", "--from", first, "--to", second, "--anima", "sample")
    assert "2 cycle(s) replayed: 2 same, 0 diverged, 0 not replayable" in both.stdout
    assert all(f"cycle {c['id']} of sample at" in both.stdout for c in chats)
    shadow = tmp_path / "one"
    one = system.anima("replay", "range", "--from", first, "--to", first, "--shadow", str(shadow))
    assert "1 cycle(s) replayed: 1 same" in one.stdout
    assert sorted(p.name for p in (shadow / "cycles").iterdir()) == [f"{chats[0]['id']}.json"]
    naive = system.anima("replay", "range", "--from", first[:19], "--to", second, check=False)
    assert naive.returncode == 2 and "has no time zone" in naive.stderr


def test_a_fork_with_another_model_writes_nothing_outside_its_shadow(
    system: RunningSystem, llm: ScriptedLLM, chats: list[dict[str, Any]], tmp_path: Path
) -> None:
    files_before, seq_before = _steady_files(system.home), _last_seq(system)
    llm.load([{"text": "Fork: tea, noted."}, {"text": "Fork: good day."}])
    calls_before = len(llm.requests)
    cwd, shadow = tmp_path / "cwd", tmp_path / "fork"
    cwd.mkdir()
    args = ("replay", "fork", "sample", "--model", "openai/scripted-fork", "--from", chats[0]["ts"])
    forked = _cli(cwd, system.home, *args, "--shadow", str(shadow))
    print(forked.stdout)
    assert forked.returncode == 0, forked.stdout + forked.stderr

    assert [r["body"]["model"] for r in llm.requests[calls_before:]] == ["scripted-fork"] * 2
    assert "2 cycle(s) forked" in forked.stdout and "2 replies differ" in forked.stdout
    assert "original (openai/scripted): 'Noted: Tanaka likes tea.'" in forked.stdout
    assert "fork (openai/scripted-fork): 'Fork: tea, noted.'" in forked.stdout
    record = json.loads((shadow / "fork" / f"{chats[0]['id']}.json").read_text())
    assert record["original"]["tool_calls"][0]["tool"] == "remember" and record["fork"]["tool_calls"] == []
    assert "scripted-key" not in forked.stdout + (shadow / "fork" / f"{chats[0]['id']}.json").read_text()

    assert _last_seq(system) == seq_before  # nothing published
    assert _steady_files(system.home) == files_before  # nothing written in the home
    assert list(cwd.iterdir()) == []
    assert sorted(str(p.relative_to(shadow)) for p in shadow.rglob("*") if p.is_file()) == sorted(
        [f"fork/{c['id']}.json" for c in chats] + ["report.txt"]
    )
