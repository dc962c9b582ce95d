"""agent-runner's replayer over many cycles (``range``): judged per cycle, written to the shadow only."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import msgspec
from tests.recorded_cycle import record_cycle

from animas_agent_runner.replay_batch import cycles_among, replay_all
from animas_contracts import Event, ResponseSent, ToolUsed, encode_event


def _run(events: list[Event], shadow: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "animas_agent_runner.replay_command", "range", "--shadow", str(shadow)],
        input="\n".join(encode_event(e).decode() for e in events),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


async def test_a_recorded_cycle_replays_the_same_into_the_shadow(tmp_path: Path) -> None:
    events = (await record_cycle(tmp_path / "record")).events
    cycles, skipped = cycles_among(events)
    assert len(cycles) == 1 and skipped == []
    shadow = tmp_path / "shadow"
    (verdict,) = await replay_all(cycles, shadow)
    assert not verdict.diverged
    assert (verdict.prompt_same, verdict.tools_same, verdict.reply_same) == (True, True, True)
    kept = json.loads((shadow / "cycles" / f"{cycles[0].started.id}.json").read_text())
    assert kept["tool_calls"]["replayed"] == [
        {"tool": "remember", "arguments": {"topic": "Tanaka", "fact": "Likes tea"}}
    ]
    assert kept["reply"] == {
        "same": True,
        "recorded": "Noted: Tanaka likes tea.",
        "replayed": "Noted: Tanaka likes tea.",
    }
    assert sorted(p.name for p in shadow.rglob("*") if p.is_file()) == [f"{cycles[0].started.id}.json"]


async def test_the_command_exits_1_when_a_reply_or_a_tool_call_differs(tmp_path: Path) -> None:
    events = (await record_cycle(tmp_path / "record")).events
    same = _run(events, tmp_path / "same")
    assert same.returncode == 0, same.stderr
    assert "1 cycle(s) replayed: 1 same, 0 diverged" in same.stdout
    assert (tmp_path / "same" / "report.txt").read_text().strip() == same.stdout.strip()

    def altered(event: Event) -> Event:
        if isinstance(event, ResponseSent):
            return msgspec.structs.replace(event, text="Something else entirely.")
        if isinstance(event, ToolUsed):
            return msgspec.structs.replace(event, arguments={"topic": "Tanaka", "fact": "Likes coffee"})
        return event

    changed = _run([altered(e) for e in events], tmp_path / "changed")
    assert changed.returncode == 1, changed.stderr
    assert "tool calls: DIFFERENT" in changed.stdout and "reply: DIFFERENT" in changed.stdout
    assert "prompt: same" in changed.stdout
    assert "1 cycle(s) replayed: 0 same, 1 diverged" in changed.stdout
