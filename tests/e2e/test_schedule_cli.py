"""`anima schedule` follows hand edits of cron.md; `anima trigger` stores due events (issue #7)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

import pytest
from tests.conftest import RunningSystem, start_system

pytestmark = [pytest.mark.e2e, pytest.mark.nats, pytest.mark.slow]

EDITED_CRON = """# Cron: sample

## Standup (every day at 7:15)
Say what you will do today.

## Lunch Reminder (毎週金曜 12:30)
command: echo lunch
skip_pattern: ^nothing$

## Moonlight (every blue moon)
Howl.
"""


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    running = start_system(
        tmp_path_factory.mktemp("schedules") / "home", {"ANIMAWORKS_WATCH_INTERVAL_S": "0.5"}
    )
    try:
        yield running
    finally:
        running.stop()


def wait_for(predicate: Callable[[], bool], what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def schedule_of(system: RunningSystem, *args: str) -> str:
    return system.anima("schedule", "sample", *args).stdout


def edit_cron(system: RunningSystem) -> None:
    path = system.home / "animas" / "sample" / "cron.md"
    if path.read_text(encoding="utf-8") != EDITED_CRON:
        path.write_text(EDITED_CRON, encoding="utf-8")
    wait_for(lambda: "cron:Standup" in schedule_of(system), "anima schedule to show the edit")


def test_editing_cron_md_changes_the_next_fire_times_shown(system: RunningSystem) -> None:
    wait_for(lambda: system.anima("show", "sample", check=False).returncode == 0, "the sample anima")
    before = schedule_of(system)
    assert "heartbeat (heartbeat.md): Every 30 minutes" in before
    assert "cron:Morning Work Planning (cron.md): Daily 9:00" in before
    assert "consolidation:daily (config.json consolidation.daily_time)" in before
    assert " 09:00 +00:00" in before and "error:" not in before

    edit_cron(system)
    after = schedule_of(system, "--count", "2")
    assert "cron:Morning Work Planning" not in after
    standup = after.split("cron:Standup", 1)[1].splitlines()
    assert standup[1].endswith(" 07:15 +00:00") and standup[2].endswith(" 07:15 +00:00")
    lunch = after.split("cron:Lunch Reminder", 1)[1].splitlines()
    assert " Fri 12:30 +00:00" in lunch[1]
    assert "error: cron.md \"## Moonlight (every blue moon)\": schedule 'every blue moon'" in after


def test_the_animas_time_zone_is_used(system: RunningSystem) -> None:
    config = system.home / "config.json"
    original = config.read_text(encoding="utf-8")
    try:
        system.configure({**json.loads(original), "animas": {"sample": {"timezone": "Asia/Tokyo"}}})
        out = schedule_of(system)
        assert out.startswith("sample: time zone Asia/Tokyo") and "+09:00" in out
    finally:
        config.write_text(original, encoding="utf-8")


def test_trigger_stores_due_events_by_hand(system: RunningSystem) -> None:
    fired = system.anima("trigger", "sample", "heartbeat").stdout
    assert "fired the heartbeat of sample by hand: heartbeat.due" in fired
    event_id = fired.split()[-1]
    events = system.anima("events", "--type", "heartbeat.due", "--json").stdout.splitlines()
    mine = [json.loads(line) for line in events if event_id in line]
    assert len(mine) == 1 and mine[0]["scheduled_by"] == "manual" and mine[0]["anima"] == "sample"
    assert event_id in system.anima("events", "--type", "heartbeat.due").stdout

    edit_cron(system)
    task = system.anima("trigger", "sample", "cron", "standup").stdout
    assert "cron task 'Standup'" in task
    stored = system.anima("events", "--type", "cron.due", "--json").stdout
    assert any(json.loads(line)["task"] == "Standup" for line in stored.splitlines())

    missing = system.anima("trigger", "sample", "cron", "No Such Task", check=False)
    assert missing.returncode == 1 and "has no task 'No Such Task'" in missing.stderr
    broken = system.anima("trigger", "sample", "cron", "moonlight", check=False)
    assert broken.returncode == 1 and "every blue moon" in broken.stderr
    nobody = system.anima("trigger", "nobody", "heartbeat", check=False)
    assert nobody.returncode == 1 and "no anima named 'nobody'" in nobody.stderr
