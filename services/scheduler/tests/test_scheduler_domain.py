"""The scheduler's pure decisions: occurrences, missed fires, due events, keys, plans and rejections."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from animas_contracts import AnimaSummary, ConsolidationDue, ConsolidationKind, CronDue, HeartbeatDue
from animas_contracts.schedule import occurrence_id
from animas_core.config import parse_config
from animas_core.schedules import NamedSchedule, anima_schedules, parse_schedule
from animas_scheduler.domain import Firing, claim_key, cursor_key, due_event, occurrences, plan
from animas_scheduler.planning import anima_plan

TOKYO = ZoneInfo("Asia/Tokyo")
HEARTBEAT_MD = "## Execution Interval\nEvery 30 minutes\n\n## Active Hours\n9:00 - 12:00\n"
CRON_MD = (
    "## Weekly review (0 17 * * 5)\nReview the week.\n\n"
    "## Morning check (毎日 9:00)\nRead the news.\n\n"
    "## Broken (every blue moon)\nNever runs.\n"
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def heartbeat() -> NamedSchedule:
    (named,) = anima_schedules(HEARTBEAT_MD, None, consolidation=None)
    return named


def test_heartbeat_occurrences_only_inside_active_hours() -> None:
    fires = occurrences(heartbeat(), at("2025-06-13T08:00+09:00"), at("2025-06-13T13:00+09:00"), TOKYO)
    local = [f.astimezone(TOKYO).strftime("%H:%M") for f in fires]
    assert local == ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]  # 12:00 is the exclusive end


def test_occurrences_are_half_open_and_ignore_enabled() -> None:
    named = NamedSchedule("cron:x", parse_schedule("daily 9:00"), enabled=False)
    start = at("2025-06-13T09:00+09:00")
    fires = occurrences(named, start, start + timedelta(days=2), TOKYO)
    assert fires == [start + timedelta(days=1), start + timedelta(days=2)]


def test_a_long_downtime_under_a_frequent_schedule_is_counted_whole() -> None:
    named = NamedSchedule("cron:x", parse_schedule("every minute"))
    start = at("2025-06-01T00:00+00:00")
    assert len(occurrences(named, start, start + timedelta(days=10), TOKYO)) == 10 * 24 * 60


def test_one_due_occurrence_fires_as_itself_whatever_the_policy() -> None:
    one = [at("2025-06-13T09:00+00:00")]
    for policy in ("coalesce", "skip", "all"):
        assert plan(one, policy, cap=3) == [Firing(one[0], one[0], 1, fire=True)]
    assert plan([], "coalesce", cap=3) == []


def test_missed_fires_follow_the_policy() -> None:
    due = [at("2025-06-13T09:00+00:00") + timedelta(hours=h) for h in range(5)]
    assert plan(due, "coalesce", cap=3) == [Firing(due[0], due[-1], 5, fire=True)]
    assert plan(due, "skip", cap=3) == [Firing(due[0], due[-1], 5, fire=False)]
    assert plan(due, "all", cap=3) == [
        Firing(due[0], due[1], 2, fire=False),
        *(Firing(t, t, 1, fire=True) for t in due[2:]),
    ]
    assert plan(due, "all", cap=10) == [Firing(t, t, 1, fire=True) for t in due]


def test_due_events_carry_the_occurrence_id_of_their_latest_occurrence() -> None:
    first, head = at("2025-06-13T09:00+00:00"), at("2025-06-13T11:00+00:00")
    now = head + timedelta(seconds=3)
    beat = due_event("alice", "heartbeat", Firing(first, head, 3, fire=True), now)
    assert isinstance(beat, HeartbeatDue)
    assert (beat.id, beat.fire_at, beat.coalesced, beat.producer) == (
        occurrence_id("alice", "heartbeat", head),
        head,
        3,
        "scheduler",
    )
    assert beat.correlation_id == beat.id and beat.causation_id is None
    cron = due_event("bob", "cron:Weekly review", Firing(head, head, 1, fire=True), now)
    assert isinstance(cron, CronDue) and cron.task == "Weekly review"
    weekly = due_event("bob", "consolidation:weekly", Firing(head, head, 1, fire=True), now)
    assert isinstance(weekly, ConsolidationDue) and weekly.kind is ConsolidationKind.WEEKLY
    with pytest.raises(ValueError, match="unknown schedule key"):
        due_event("bob", "lunch", Firing(head, head, 1, fire=True), now)


def test_keys_hold_only_characters_kv_allows() -> None:
    allowed = re.compile(r"^[-/_=.a-zA-Z0-9]+$")
    moment = at("2025-06-13T09:00+00:00")
    for key in ("heartbeat", "cron:毎朝のチェック (daily)", "consolidation:daily"):
        assert allowed.fullmatch(cursor_key("alice", key))
        assert allowed.fullmatch(claim_key("alice", key, moment))
    assert cursor_key("alice", "cron:a") != cursor_key("alice", "cron:b")
    assert claim_key("alice", "heartbeat", moment) == f"occ.{occurrence_id('alice', 'heartbeat', moment)}"


def test_an_anima_plan_reads_its_zone_and_rejects_what_it_cannot_read() -> None:
    config = parse_config({"system": {"timezone": "America/New_York"}})
    alice = anima_plan(
        AnimaSummary(name="alice", enabled=True, status={"timezone": "JST"}), HEARTBEAT_MD, None, config
    )
    assert alice.zone == TOKYO
    assert [n.key for n in alice.schedules] == ["heartbeat", "consolidation:daily", "consolidation:weekly"]
    assert alice.rejections == ()
    bob = anima_plan(AnimaSummary(name="bob", enabled=False, status={}), None, CRON_MD, config)
    assert bob.zone == ZoneInfo("America/New_York") and not bob.enabled
    assert "cron:Broken" not in [n.key for n in bob.schedules]
    (broken,) = bob.rejections
    assert (broken.anima, broken.file, broken.schedule) == ("bob", "cron.md", "## Broken (every blue moon)")
    again = anima_plan(AnimaSummary(name="bob", enabled=True, status={}), None, CRON_MD, config)
    edited = anima_plan(AnimaSummary(name="bob", enabled=True, status={}), None, CRON_MD + "\n", config)
    assert again.rejections[0].event_id == broken.event_id != edited.rejections[0].event_id
    assert broken.event(at("2025-06-13T09:00+00:00")).id == broken.event_id


def test_a_zone_that_is_not_understood_falls_back_and_is_reported() -> None:
    config = parse_config({"system": {"timezone": "Asia/Tokyo"}})
    plan_ = anima_plan(
        AnimaSummary(name="carol", enabled=True, status={"timezone": "Mars/Base"}), None, None, config
    )
    assert plan_.zone == TOKYO
    (problem,) = plan_.rejections
    assert (problem.file, problem.schedule) == ("status.json", "timezone") and "Mars/Base" in problem.reason
