"""Can it act on its own? (issue #7): heartbeats and cron tasks through real processes.

Due events are published as the scheduler would (same contracts, same subjects), so these tests
pin what agent-runner does with them; the scheduler's own timing is tested separately.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from nats.aio.client import Client
from tests.conftest import RunningSystem, scripted_config, start_system

from animas_contracts import (
    CreateTask,
    CronDue,
    Event,
    HeartbeatDue,
    MemoryOpApplied,
    MemoryOpRequested,
    MessageOrigin,
    MessageReceived,
    ScheduledBy,
    TaskRelation,
    TaskState,
    TransitionTask,
    encode_event,
    uuid7,
)
from animas_contracts.subjects import HEADER_MSG_ID, activity_subject
from animas_tools.publish import publish_change
from animas_tools.scripted_llm import ScriptedLLM
from animas_tools.supervisor import read_health

pytestmark = [pytest.mark.e2e, pytest.mark.nats, pytest.mark.slow]

PERMISSIONS = """# Permissions: sample

## Available Tools
Read, Write, Grep, Glob, Bash, send_message, search_memory, read_memory_file

## Allowed Commands
- echo

## Disallowed Commands
rm -rf, sudo
"""


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM() as server:
        yield server


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory, llm: ScriptedLLM) -> Iterator[RunningSystem]:
    running = start_system(tmp_path_factory.mktemp("autonomy") / "home")
    try:
        running.configure(scripted_config(llm))
        (_anima_dir(running) / "permissions.md").write_text(PERMISSIONS)
        yield running
    finally:
        running.stop()


def _anima_dir(system: RunningSystem) -> Path:
    return system.home / "animas" / "sample"


def _active_hours(system: RunningSystem, *, now_inside: bool) -> None:
    """Active hours (UTC) that include the current time, or that lie twelve hours away."""
    start = datetime.now(UTC) + (timedelta(hours=-1) if now_inside else timedelta(hours=11))
    end = start + timedelta(hours=2)
    (_anima_dir(system) / "heartbeat.md").write_text(
        "# Heartbeat: sample\n\n## Execution Interval\nEvery 30 minutes\n\n## Active Hours\n"
        f"{start:%H}:00 - {end:%H}:00 (UTC)\n\n## Checklist\n- Are there unread messages in the inbox?\n"
        "- If nothing, do nothing (HEARTBEAT_OK)\n"
    )


def _publish(system: RunningSystem, event: Event) -> None:
    async def send(nc: Client) -> None:
        await nc.jetstream().publish(
            activity_subject(event.anima, event.event_type),
            encode_event(event),
            headers={HEADER_MSG_ID: event.id},
        )

    system.admin(send)


def _heartbeat() -> HeartbeatDue:
    event_id = uuid7()
    return HeartbeatDue(
        id=event_id,
        anima="sample",
        correlation_id=event_id,
        producer="cli",
        fire_at=datetime.now(UTC),
        scheduled_by=ScheduledBy.MANUAL,
    )


def _cron(task: str) -> CronDue:
    event_id = uuid7()
    return CronDue(
        id=event_id,
        anima="sample",
        correlation_id=event_id,
        producer="cli",
        task=task,
        fire_at=datetime.now(UTC),
        scheduled_by=ScheduledBy.MANUAL,
    )


def _events(system: RunningSystem, *args: str) -> list[dict[str, Any]]:
    out = system.anima("events", "--json", "--anima", "sample", *args).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def _one(
    system: RunningSystem, event_type: str, correlation_id: str, timeout_s: float = 60.0
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = [e for e in _events(system, "--type", event_type) if e["correlation_id"] == correlation_id]
        if found:
            assert len(found) == 1, found
            return found[0]
        time.sleep(0.3)
    raise AssertionError(f"no {event_type} for {correlation_id}")


def test_a_deferred_message_is_handled_at_the_next_heartbeat(system: RunningSystem, llm: ScriptedLLM) -> None:
    _active_hours(system, now_inside=False)
    message_id = uuid7()
    message = MessageReceived(
        id=message_id,
        anima="sample",
        correlation_id=message_id,
        producer="outbound",
        text="Could you send me the weekly figures?",
        sender="suzuki",
        thread_id="t-suzuki",
        origin=MessageOrigin.ANIMA,
    )
    before = len(llm.requests)
    _publish(system, message)
    deferred = _one(system, "memory.op.applied", message_id)
    assert not [e for e in _events(system, "--type", "response.sent") if e["in_reply_to"] == message_id]
    assert len(llm.requests) == before and deferred  # waiting in the inbox, the model not asked

    _active_hours(system, now_inside=True)
    llm.load([{"text": "Hello Suzuki, the weekly figures are attached."}])
    heartbeat = _heartbeat()
    _publish(system, heartbeat)

    finished = _one(system, "heartbeat.finished", heartbeat.correlation_id)
    assert finished["outcome"] == "acted" and finished["found"] == [f"deferred:{message_id}"]
    reply = next(e for e in _events(system, "--type", "response.sent") if e["in_reply_to"] == message_id)
    assert reply["text"] == "Hello Suzuki, the weekly figures are attached." and reply["to"] == "suzuki"
    request = llm.requests[-1]["body"]["messages"][-1]["content"]
    assert "[suzuki] Could you send me the weekly figures?" in request
    done = [
        e
        for e in _events(system, "--type", "memory.op.requested")
        if e["op"].get("kind") == "task.transition" and e["op"]["task_id"] == message_id
    ]
    assert len(done) == 1 and done[0]["op"]["to"] == "done"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        episodes = "".join(p.read_text() for p in (_anima_dir(system) / "episodes").glob("*.md"))
        if "Heartbeat: Message from suzuki" in episodes and "the weekly figures are attached" in episodes:
            break
        time.sleep(0.3)
    else:
        raise AssertionError("the episode does not record the heartbeat's reply")


def test_a_heartbeat_with_nothing_to_do_records_heartbeat_ok_and_sends_nothing(
    system: RunningSystem, llm: ScriptedLLM
) -> None:
    _active_hours(system, now_inside=True)
    before = len(llm.requests)
    heartbeat = _heartbeat()
    _publish(system, heartbeat)

    finished = _one(system, "heartbeat.finished", heartbeat.correlation_id)
    assert (finished["outcome"], finished["found"]) == ("ok", [])
    assert len(llm.requests) == before
    related = [e["type"] for e in _events(system) if e["correlation_id"] == heartbeat.correlation_id]
    assert related == ["heartbeat.due", "heartbeat.finished"]  # no cycle, no reply, no outbound

    _active_hours(system, now_inside=False)
    resting = _heartbeat()
    _publish(system, resting)
    assert _one(system, "heartbeat.finished", resting.correlation_id)["outcome"] == "outside_active_hours"
    assert len(llm.requests) == before


def test_a_cron_command_matching_skip_pattern_does_not_wake_the_model(
    system: RunningSystem, llm: ScriptedLLM
) -> None:
    cron = _anima_dir(system) / "cron.md"
    cron.write_text(
        "# Cron: sample\n\n## Disk check (every 30 minutes)\ncommand: echo OK nothing to clean\n"
        "skip_pattern: ^OK\nSay which files to clean up.\n\n"
        "## Daily plan (毎日 9:00)\nPlan today's work in three bullet points.\n"
    )
    before = len(llm.requests)
    skipped = _cron("Disk check")
    _publish(system, skipped)
    executed = _one(system, "cron.executed", skipped.correlation_id)
    assert executed["outcome"] == "skipped", executed["error"]
    assert executed["command_output"].startswith("OK nothing to clean")
    assert len(llm.requests) == before

    cron.write_text(cron.read_text().replace("echo OK nothing to clean", "echo WARN disk 91% full"))
    llm.load([{"text": "Clean the old build folders."}])
    ran = _cron("Disk check")
    _publish(system, ran)
    executed = _one(system, "cron.executed", ran.correlation_id)
    assert executed["outcome"] == "ran" and executed["output"] == "Clean the old build folders."
    prompt = llm.requests[-1]["body"]["messages"][-1]["content"]
    assert "WARN disk 91% full" in prompt and "Say which files to clean up." in prompt

    llm.load([{"text": "- Reply to Suzuki\n- Review the figures\n- Plan the release"}])
    plan = _cron("Daily plan")
    _publish(system, plan)
    assert _one(system, "cron.executed", plan.correlation_id)["outcome"] == "ran"
    output = _anima_dir(system) / "state" / "cron" / "daily-plan.md"
    deadline = time.monotonic() + 30
    while not output.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "Plan the release" in output.read_text()


def test_the_scheduler_fires_the_heartbeat_and_the_anima_looks_around(
    tmp_path: Path, llm: ScriptedLLM
) -> None:
    """The whole loop: the scheduler's clock passes 10:30 inside active hours, the heartbeat runs."""
    clock = tmp_path / "clock.json"
    clock.write_text(json.dumps({"now": "2026-11-26T10:29:50+00:00"}))
    env = {"ANIMAWORKS_SCHEDULER_PAUSED": "false", "ANIMAWORKS_SCHEDULER_CLOCK_FILE": str(clock)}
    running = start_system(tmp_path / "home", env)
    try:
        config = scripted_config(llm)
        config["scheduler"] = {"reload_s": 0}  # every tick re-reads the animas: sample is seen
        running.configure(config)
        _wait_for_scheduler_clock(running, "2026-11-26T10:29:50+00:00")
        # A tick after the config change: it reads sample's schedules and starts their cursors.
        clock.write_text(json.dumps({"now": "2026-11-26T10:29:55+00:00"}))
        _wait_for_scheduler_clock(running, "2026-11-26T10:29:55+00:00")
        before = len(llm.requests)
        clock.write_text(json.dumps({"now": "2026-11-26T10:30:05+00:00"}))
        deadline = time.monotonic() + 60
        finished: list[dict[str, Any]] = []
        while not finished and time.monotonic() < deadline:
            finished = _events(running, "--type", "heartbeat.finished")
            time.sleep(0.3)
        due = _events(running, "--type", "heartbeat.due")
        assert [(d["fire_at"], d["scheduled_by"]) for d in due] == [("2026-11-26T10:30:00Z", "scheduler")]
        assert [(f["outcome"], f["causation_id"]) for f in finished] == [("ok", due[0]["id"])]
        assert len(llm.requests) == before  # HEARTBEAT_OK: nothing to do, the model not woken
    finally:
        running.stop()


def _wait_for_scheduler_clock(system: RunningSystem, moment: str) -> None:
    async def clock_seen(nc: Client) -> bool:
        health = await read_health(nc.jetstream())
        return str(health.get("scheduler", {}).get("clock", "")) >= moment

    deadline = time.monotonic() + 60
    while not system.admin(clock_seen):
        assert time.monotonic() < deadline, "the scheduler never ticked at the test clock's time"
        time.sleep(0.2)


def test_a_message_during_a_long_heartbeat_is_answered_right_after_it(
    system: RunningSystem, llm: ScriptedLLM
) -> None:
    """The heartbeat and the chat share the anima's turn: the chat runs next, not at the next heartbeat."""
    _active_hours(system, now_inside=True)

    async def block_a_task(nc: Client) -> None:
        for op in (
            CreateTask(task_id="t-report", title="Ship the report", relation=TaskRelation.OWN),
            TransitionTask(task_id="t-report", to=TaskState.BLOCKED, note="waiting for figures"),
        ):
            event_id = uuid7()
            request = MemoryOpRequested(
                id=event_id, anima="sample", correlation_id=event_id, producer="cli", op=op
            )
            assert isinstance(await publish_change(nc, request), MemoryOpApplied)

    system.admin(block_a_task)
    llm.load(
        [
            {"text": "I asked for the figures.", "match": "Heartbeat. Your checklist", "delay_s": 3.0},
            {"text": "Yes, I am here.", "match": "are you there"},
        ]
    )
    heartbeat = _heartbeat()
    _publish(system, heartbeat)
    deadline = time.monotonic() + 30
    while not any("Heartbeat. Your checklist" in json.dumps(r["body"]) for r in llm.requests):
        assert time.monotonic() < deadline, "the heartbeat never asked the model"
        time.sleep(0.1)
    reply = system.chat("sample", "are you there?", timeout_s=60).json()  # sent mid-heartbeat

    assert reply["reply"] == "Yes, I am here."
    finished = _one(system, "heartbeat.finished", heartbeat.correlation_id)
    assert finished["outcome"] == "acted" and finished["found"] == ["blocked:t-report"]
    cycles = _events(system, "--type", "cycle.started") + _events(system, "--type", "cycle.finished")
    heartbeat_end = max(e["ts"] for e in cycles if e["correlation_id"] == heartbeat.correlation_id)
    chat_start = next(
        e["ts"]
        for e in cycles
        if e["correlation_id"] == reply["correlation_id"] and e["type"] == "cycle.started"
    )
    assert heartbeat_end <= chat_start  # one cycle of the anima at a time, the chat right after
