"""`anima schedule` output and `anima trigger` events, without a running system."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import msgspec
import pytest
import typer
from typer.testing import CliRunner

from animas_contracts import CronDue, HeartbeatDue, ScheduledBy, decode_event, encode_event
from animas_core.config import AnimaWorksConfig, ConfigError, parse_config
from animas_core.config_model import ConsolidationConfig
from animas_core.schedules import anima_schedules
from animas_tools.schedule_cli import TriggerKind, anima_zone, due_event, register, render_plan, when

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2025, 6, 5, 12, 0, tzinfo=UTC)  # Thursday 21:00 in Tokyo

HEARTBEAT = """# Heartbeat: sample

## Execution Interval
Every 30 minutes

## Active Hours
9:00 - 22:00

## Checklist
- Anything new?
"""

CRON = """# Cron: sample

## Weekly Retrospective (Every Friday 17:00 JST)
Look back.

## Old Report (Daily 17:00)
enabled: false
Write it.

## Standup (every blue moon)
Say hello.
"""


def render(heartbeat: str | None = HEARTBEAT, cron: str | None = CRON, count: int = 2) -> list[str]:
    plan = anima_schedules(heartbeat, cron, consolidation=ConsolidationConfig(weekly_day=7))
    return render_plan("sample", plan, now=NOW, tz=TOKYO, count=count)


def test_the_plan_shows_each_schedule_with_its_next_fire_times() -> None:
    assert render() == [
        "sample: time zone Asia/Tokyo, now 2025-06-05 Thu 21:00 +09:00",
        "heartbeat (heartbeat.md): Every 30 minutes, only 09:00-22:00",
        "  2025-06-05 Thu 21:30 +09:00",
        "  2025-06-06 Fri 09:00 +09:00",
        "cron:Weekly Retrospective (cron.md): Every Friday 17:00 JST [Asia/Tokyo]",
        "  2025-06-06 Fri 17:00 +09:00",
        "  2025-06-13 Fri 17:00 +09:00",
        "cron:Old Report (cron.md): Daily 17:00, disabled",
        "error: cron.md \"## Standup (every blue moon)\": schedule 'every blue moon' is not understood; "
        "write e.g. 'every day at 9:00', 'every Friday 17:00', 'weekdays 9:00', 'every 30 minutes', "
        "'0 9 * * 1-5'",
        "consolidation:daily (config.json consolidation.daily_time): daily 02:00",
        "  2025-06-06 Fri 02:00 +09:00",
        "  2025-06-07 Sat 02:00 +09:00",
        "consolidation:weekly (config.json consolidation.weekly_time): every sun 03:00",
        "  2025-06-08 Sun 03:00 +09:00",
        "  2025-06-15 Sun 03:00 +09:00",
    ]


def test_a_missing_or_broken_heartbeat_is_said_plainly() -> None:
    assert "heartbeat: none (heartbeat.md has no ## Execution Interval)" in render(heartbeat=None)
    broken = render(heartbeat="## Execution Interval\nsometimes\n", cron=None)
    assert broken[1].startswith("error: heartbeat.md \"## Execution Interval\": schedule 'sometimes'")


def test_times_show_the_animas_wall_clock_and_offset_in_any_locale() -> None:
    assert (
        when(datetime(2025, 3, 9, 7, tzinfo=UTC), ZoneInfo("America/New_York"))
        == "2025-03-09 Sun 03:00 -04:00"
    )
    assert when(NOW, ZoneInfo("UTC")) == "2025-06-05 Thu 12:00 +00:00"


def config(data: dict[str, object]) -> AnimaWorksConfig:
    return parse_config(data)


def test_the_animas_zone_comes_from_status_json_then_config() -> None:
    system = config({"system": {"timezone": "Europe/Berlin"}})
    assert anima_zone(system, "sample", json.dumps({"timezone": None})).key == "Europe/Berlin"
    assert anima_zone(system, "sample", json.dumps({"timezone": "Asia/Tokyo"})).key == "Asia/Tokyo"
    override = config({"animas": {"sample": {"timezone": "America/New_York"}}})
    assert anima_zone(override, "sample", json.dumps({"timezone": "Asia/Tokyo"})).key == "America/New_York"
    assert anima_zone(AnimaWorksConfig(), "sample", None).key == "UTC"
    with pytest.raises(ConfigError, match="timezone"):
        anima_zone(system, "sample", json.dumps({"timezone": "Mars/Olympus"}))


def test_a_manual_trigger_is_a_due_event_fired_now_by_hand() -> None:
    beat = due_event("sample", TriggerKind.HEARTBEAT, None, NOW)
    assert isinstance(beat, HeartbeatDue) and beat.event_type == "heartbeat.due"
    assert beat.scheduled_by is ScheduledBy.MANUAL and beat.fire_at == NOW and beat.correlation_id == beat.id
    cron = due_event("sample", TriggerKind.CRON, "Weekly Retrospective", NOW)
    assert isinstance(cron, CronDue) and cron.task == "Weekly Retrospective"
    assert decode_event(encode_event(cron)) == cron
    assert msgspec.json.decode(encode_event(beat))["scheduled_by"] == "manual"


def test_trigger_arguments_are_checked_before_connecting() -> None:
    app = typer.Typer()
    register(app)
    runner = CliRunner()
    with_task = runner.invoke(app, ["trigger", "sample", "heartbeat", "Standup"])
    assert with_task.exit_code == 2 and "has no task" in with_task.output
    without = runner.invoke(app, ["trigger", "sample", "cron"])
    assert without.exit_code == 2 and "name the task" in without.output
    unknown = runner.invoke(app, ["trigger", "sample", "lunch"])
    assert unknown.exit_code == 2
