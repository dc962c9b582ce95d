"""heartbeat.md, cron.md and the plan of an anima's schedules (active hours, enabled, errors)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from importlib import resources
from zoneinfo import ZoneInfo

import pytest

from animas_core.anima_files import ROLES, AnimaSpec, blank_files, template_files
from animas_core.config_model import ConsolidationConfig
from animas_core.schedules import (
    CONSOLIDATION_DAILY,
    CONSOLIDATION_WEEKLY,
    HEARTBEAT,
    ActiveHours,
    NamedSchedule,
    ScheduleError,
    anima_schedules,
    cron_key,
    fires_between,
    next_fires,
    parse_active_hours,
    parse_cron,
    parse_heartbeat,
    parse_schedule,
)

UTC_ZONE = ZoneInfo("UTC")
TOKYO = ZoneInfo("Asia/Tokyo")
START = datetime(2025, 6, 2, tzinfo=UTC)  # a Monday

SEED_HEARTBEAT = """# Heartbeat: Tanaka

## Execution Interval
Every 30 minutes

## Active Hours
9:00 - 22:00 (JST)

## Checklist
- Are there unread messages in the inbox?
- If nothing, do nothing (HEARTBEAT_OK)

## Notification Rules
- Notify relevant parties only when deemed urgent
"""

SEED_CRON = """# Cron: Tanaka

## Morning Work Planning (Daily 9:00 JST)
Review yesterday's progress from long-term memory and plan today's tasks.
Output the result to /workspace/Tanaka/daily-plan.md.

## Weekly Retrospective (Every Friday 17:00 JST)
Re-read this week's episodes/ and extract patterns.
"""


def raw_templates(file: str) -> dict[str, str]:
    root = resources.files("animas_core").joinpath("templates")
    found = {"blank": root.joinpath("blank", file).read_text("utf-8")}
    found |= {role: root.joinpath("roles", role, file).read_text("utf-8") for role in ROLES}
    return found


def rendered(file: str) -> dict[str, str]:
    spec = AnimaSpec(name="tanaka")
    return {"blank": blank_files(spec)[file]} | {role: template_files(spec, role)[file] for role in ROLES}


@pytest.mark.parametrize("source", [raw_templates, rendered], ids=["raw", "rendered"])
def test_every_template_parses_without_errors(source: object) -> None:
    assert callable(source)
    for origin, text in source("heartbeat.md").items():
        beat = parse_heartbeat(text)
        assert beat.errors == () and beat.interval is not None and beat.active_hours is not None, origin
        assert "If nothing, do nothing (HEARTBEAT_OK)" in beat.checklist and beat.notification_rules
    for origin, text in source("cron.md").items():
        tasks = parse_cron(text).tasks
        assert all(t.error is None and t.schedule is not None for t in tasks), origin
        assert all(t.instruction and t.command is None for t in tasks), origin
        assert bool(tasks) == (origin != "blank"), origin


def test_the_template_placeholder_means_the_animas_zone() -> None:
    beat = parse_heartbeat(raw_templates("heartbeat.md")["general"])
    assert beat.active_hours is not None and beat.active_hours.zone is None
    retro = parse_cron(raw_templates("cron.md")["general"]).task("weekly retrospective")
    assert retro is not None and retro.schedule is not None and retro.schedule.zone is None
    fire = retro.schedule.next_after(START, TOKYO).astimezone(TOKYO)
    assert (fire.weekday(), fire.hour) == (4, 17)


def test_the_seed_heartbeat() -> None:
    beat = parse_heartbeat(SEED_HEARTBEAT)
    assert beat.errors == ()
    assert beat.interval is not None and beat.interval.text == "Every 30 minutes"
    assert beat.active_hours == ActiveHours(time(9), time(22), TOKYO)
    assert beat.checklist == (
        "Are there unread messages in the inbox?",
        "If nothing, do nothing (HEARTBEAT_OK)",
    )
    assert beat.notification_rules == ("Notify relevant parties only when deemed urgent",)


def test_a_japanese_heartbeat() -> None:
    beat = parse_heartbeat(
        "# ハートビート\n\n## 実行間隔\n30分ごと\n\n## 活動時間\n９:００〜１８:００（JST）\n\n"
        "## チェックリスト\n- 受信箱に未読はあるか\n\n## 通知ルール\n- 緊急時のみ通知する\n"
    )
    assert beat.errors == ()
    assert beat.active_hours == ActiveHours(time(9), time(18), TOKYO)
    assert beat.checklist == ("受信箱に未読はあるか",) and beat.notification_rules == ("緊急時のみ通知する",)


def test_heartbeat_problems_are_reported_with_their_section() -> None:
    beat = parse_heartbeat(
        "## Execution Interval\nevery blue moon\n\n## Active Hour\n9:00 - 18:00\n\n"
        "## Checklist\n- look around\n"
    )
    assert beat.interval is None and beat.active_hours is None
    assert beat.errors[0].startswith('"## Active Hour": unknown section')
    assert beat.errors[1].startswith(
        "\"## Execution Interval\": schedule 'every blue moon' is not understood"
    )
    bad_hours = parse_heartbeat("## Execution Interval\nhourly\n\n## Active Hours\n9:00 - 25:00\n")
    assert bad_hours.interval is not None and bad_hours.active_hours is None
    assert bad_hours.errors == (
        "\"## Active Hours\": 25:00 is not a time of day in active hours '9:00 - 25:00' "
        "(0:00 to 23:59, 24:00 as the end)",
    )
    two = parse_heartbeat("## Execution Interval\nhourly\ndaily 9:00\n")
    assert two.interval is None and "exactly one line" in two.errors[0]


@pytest.mark.parametrize(
    ("text", "inside", "outside"),
    [
        ("9:00 - 18:00", ["09:00", "17:59"], ["08:59", "18:00", "23:00"]),
        ("22:00 - 6:00", ["22:00", "23:59", "00:00", "05:59"], ["06:00", "12:00", "21:59"]),
        ("0:00 - 24:00", ["00:00", "12:00", "23:59"], []),
        ("9:00 - 24:00", ["09:00", "23:59"], ["00:00", "08:59"]),
        ("9時〜18時", ["09:00"], ["18:00"]),
        ("9:00 to 18:00 {timezone}", ["09:00"], ["18:00"]),
    ],
)
def test_active_hours_end_is_exclusive_and_can_span_midnight(
    text: str, inside: list[str], outside: list[str]
) -> None:
    hours = parse_active_hours(text)
    for clock, expected in [(c, True) for c in inside] + [(c, False) for c in outside]:
        moment = datetime.fromisoformat(f"2025-06-02T{clock}:00+09:00")
        assert hours.contains(moment, TOKYO) is expected, (text, clock)


def test_active_hours_in_their_own_zone() -> None:
    hours = parse_active_hours("9:00 - 18:00 (Asia/Tokyo)")
    assert hours.contains(datetime(2025, 6, 2, 0, 30, tzinfo=UTC), UTC_ZONE)  # 9:30 in Tokyo
    assert not hours.contains(datetime(2025, 6, 2, 9, 30, tzinfo=UTC), UTC_ZONE)
    assert str(hours) == "09:00-18:00 (Asia/Tokyo)"
    for bad, message in [("9:00", "not understood"), ("9:00 - 9:00", "same time"), ("9-18 (Mars)", "not")]:
        with pytest.raises(ScheduleError, match=message):
            parse_active_hours(bad)


CRON_OPTIONS = """# Cron: ops

## Failed Jobs (every 30 minutes)
command: `grep -c FAILED /workspace/jobs.log`
skip_pattern: ^0$
Tell the supervisor what failed and why.

## Backup (0 3 * * *)
command: /usr/local/bin/backup --quiet

## Old Report (Daily 17:00)
enabled: false
Write the old report.

## Standup (every blue moon)
Say hello.

## Untimed
Nothing here.

## Broken Pattern (hourly)
command: grep -c ERROR app.log
skip_pattern: ([unclosed
check

## Lonely Pattern (hourly)
skip_pattern: ^0$
nothing to search

## failed jobs (hourly)
duplicate title
"""


def test_cron_tasks_with_commands_skip_patterns_and_enabled() -> None:
    spec = parse_cron(CRON_OPTIONS)
    jobs = spec.task("FAILED JOBS")
    assert jobs is not None and jobs.error is None and jobs.schedule is not None
    assert jobs.command == "grep -c FAILED /workspace/jobs.log" and jobs.skip_pattern == "^0$"
    assert jobs.instruction == "Tell the supervisor what failed and why."
    assert jobs.heading == "## Failed Jobs (every 30 minutes)"
    backup = spec.task("backup")
    assert backup is not None and backup.error is None and backup.instruction == ""
    assert backup.command == "/usr/local/bin/backup --quiet" and backup.skip_pattern is None
    old = spec.task("Old Report")
    assert (
        old is not None
        and old.enabled is False
        and old.error is None
        and old.instruction == "Write the old report."
    )
    assert spec.task("nope") is None


@pytest.mark.parametrize(
    ("title", "message"),
    [
        ("Standup", "schedule 'every blue moon' is not understood"),
        ("Untimed", "then the schedule in parentheses"),
        ("Broken Pattern", "skip_pattern: is not a valid regular expression"),
        ("Lonely Pattern", "skip_pattern: needs a command"),
    ],
)
def test_a_task_that_cannot_run_as_written_carries_its_error(title: str, message: str) -> None:
    task = parse_cron(CRON_OPTIONS).task(title)
    assert task is not None and task.schedule is None and task.error is not None
    assert message in task.error


def test_a_repeated_title_is_an_error_on_the_second() -> None:
    tasks = [t for t in parse_cron(CRON_OPTIONS).tasks if t.title.casefold() == "failed jobs"]
    assert [t.error is None for t in tasks] == [True, False]
    assert tasks[1].error is not None and "titles must differ" in tasks[1].error


def test_headings_inside_code_fences_and_before_the_first_section_are_ignored() -> None:
    spec = parse_cron(
        "# Cron: x\nIntro `## Not (Daily 9:00)`\n\n## Real (hourly)\nrun:\n```\n## Fake (hourly)\n```\n"
    )
    assert [t.title for t in spec.tasks] == ["Real"]
    assert "## Fake (hourly)" in spec.tasks[0].instruction


def plan_of(heartbeat: str | None, cron: str | None) -> dict[str, NamedSchedule]:
    plan = anima_schedules(heartbeat, cron, consolidation=ConsolidationConfig(weekly_day=7))
    return {named.key: named for named in plan}


def test_the_plan_names_every_schedule_of_an_anima() -> None:
    plan = plan_of(SEED_HEARTBEAT, CRON_OPTIONS)
    assert next(iter(plan)) == HEARTBEAT and plan[HEARTBEAT].active_hours is not None
    assert cron_key("Failed Jobs") in plan and plan[cron_key("Old Report")].enabled is False
    standup = plan[cron_key("Standup")]
    assert standup.schedule is None and standup.file == "cron.md"
    assert standup.section == "## Standup (every blue moon)" and standup.error
    weekly = plan[CONSOLIDATION_WEEKLY]
    assert weekly.file == "config.json" and weekly.schedule is not None
    sunday = next_fires(weekly, START, TOKYO, 1)[0].astimezone(TOKYO)
    assert (sunday.weekday(), sunday.hour) == (6, 3)  # weekly_day 7 is Sunday
    daily = next_fires(plan[CONSOLIDATION_DAILY], START, TOKYO, 2)
    assert [d.astimezone(TOKYO).hour for d in daily] == [2, 2]


def test_next_fires_honour_active_hours_enabled_and_errors() -> None:
    plan = plan_of(SEED_HEARTBEAT, CRON_OPTIONS)
    evening = datetime(2025, 6, 2, 21, 15, tzinfo=TOKYO)
    fires = [
        f.astimezone(TOKYO).strftime("%d %H:%M") for f in next_fires(plan[HEARTBEAT], evening, UTC_ZONE, 3)
    ]
    assert fires == ["02 21:30", "03 09:00", "03 09:30"]  # 22:00 is the exclusive end
    assert next_fires(plan[cron_key("Old Report")], START, UTC_ZONE, 3) == []
    assert next_fires(plan[cron_key("Standup")], START, UTC_ZONE, 3) == []
    second = timedelta(seconds=1)
    day = fires_between(plan[HEARTBEAT], START - second, START + timedelta(days=1) - second, TOKYO)
    assert len(day) == 26  # 9:00 … 21:30 in Tokyo, every 30 minutes


def test_a_broken_heartbeat_never_fires_and_a_missing_one_is_absent() -> None:
    broken = plan_of("## Execution Interval\nhourly\n\n## Active Hours\nsometimes\n", None)[HEARTBEAT]
    assert broken.schedule is None and broken.error and "Active Hours" in broken.error
    assert next_fires(broken, START, UTC_ZONE, 1) == []
    assert HEARTBEAT not in plan_of(None, None) and HEARTBEAT not in plan_of("# Heartbeat\n", None)


def test_active_hours_with_no_matching_time_give_no_fires() -> None:
    named = NamedSchedule(
        "heartbeat", parse_schedule("Daily 3:00"), active_hours=parse_active_hours("9:00 - 18:00")
    )
    assert next_fires(named, START, UTC_ZONE, 3) == []
