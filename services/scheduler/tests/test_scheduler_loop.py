"""Schedulers over fake ports: replicas, restarts, skewed clocks, downtime, edits and rejections."""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec

from animas_contracts import AnimaSummary, ConsolidationDue, CronDue, Event, HeartbeatDue, ScheduleRejected
from animas_core.config import parse_config
from animas_core.errors import RetryableError
from animas_core.schedules import fires_between
from animas_scheduler.claims import ClaimRecord
from animas_scheduler.loop import Scheduler
from animas_scheduler.planning import anima_plan

from .fakes import HEARTBEAT_MD, START, World, make_world

STEP = timedelta(minutes=5)
BEHIND = timedelta(minutes=-10)

Occurrence = tuple[str, str, datetime]


def expected(world: World, start: datetime, end: datetime) -> set[Occurrence]:
    config = parse_config(world.config)
    found: set[Occurrence] = set()
    for summary in world.directory.summaries:
        files = world.directory.files
        plan = anima_plan(
            summary, files.get((summary.name, "heartbeat.md")), files.get((summary.name, "cron.md")), config
        )
        for named in plan.schedules:
            found |= {(summary.name, named.key, t) for t in fires_between(named, start, end, plan.zone)}
    return found


def occurrence(event: Event) -> Occurrence:
    match event:
        case HeartbeatDue():
            return event.anima, "heartbeat", event.fire_at
        case CronDue():
            return event.anima, f"cron:{event.task}", event.fire_at
        case ConsolidationDue():
            return event.anima, f"consolidation:{event.kind.value}", event.fire_at
    raise AssertionError(f"not a due event: {event}")


Due = HeartbeatDue | CronDue | ConsolidationDue


def due(world: World) -> list[Due]:
    return [e for e in world.stream.events if isinstance(e, Due)]


async def test_two_replicas_fire_each_occurrence_once_over_a_day() -> None:
    world = make_world()
    on_time, behind = world.scheduler("a"), world.scheduler("b", BEHIND)
    await behind.tick()  # the late replica sees every schedule first: its cursors start 10 minutes early
    await on_time.tick()
    for step in range(1, 24 * 12 + 1):
        world.clock.advance(STEP)
        world.clock.monotonic_s += 1
        if step == 110:
            on_time = world.scheduler("a")  # restarted: nothing kept but what the bucket holds
        if not 100 <= step < 110:  # down for 50 minutes, over bob's 9:00 in New York
            await on_time.tick()
        await behind.tick()
    events = due(world)
    fired = [occurrence(e) for e in events]
    assert len({e.id for e in events}) == len(events) == len(set(fired))
    assert set(fired) == expected(world, START, world.clock.time)
    assert {e.coalesced for e in events} == {1}
    assert {"cron:Weekly review", "cron:Morning check", "consolidation:weekly"} <= {k for _, k, _ in fired}
    claims = [
        msgspec.json.decode(v.value, type=ClaimRecord) for k, v in world.store.data.items() if "occ." in k
    ]
    assert {c.by for c in claims} == {"a", "b"}  # the late replica fired while the other was down


async def test_a_schedule_first_seen_fires_nothing_that_already_passed() -> None:
    world = make_world()
    await world.scheduler("a").tick()
    assert due(world) == []


async def test_missed_fires_after_downtime_are_coalesced_into_one() -> None:
    world = make_world()
    scheduler = world.scheduler("a")
    await scheduler.tick()
    world.clock.advance(timedelta(hours=6))  # alice's 13:30 … 17:30 in Tokyo
    await world.scheduler("a").tick()
    (beat,) = [e for e in due(world) if isinstance(e, HeartbeatDue)]
    assert beat.coalesced == 9 and beat.fire_at == START + timedelta(minutes=20 + 4 * 60)
    singles = [e for e in due(world) if not isinstance(e, HeartbeatDue)]
    assert len(singles) == 2 and {e.coalesced for e in singles} == {1}  # bob's two consolidations


async def test_skip_and_all_policies() -> None:
    world = make_world()
    world.config["scheduler"] |= {"missed_fires": "skip"}
    await world.scheduler("a").tick()
    world.clock.advance(timedelta(hours=6))
    await world.scheduler("a").tick()
    assert not [e for e in due(world) if isinstance(e, HeartbeatDue)]
    world.config["scheduler"] |= {"missed_fires": "all", "max_catch_up": 3}
    world.clock.advance(timedelta(hours=18))  # Saturday 13:10 in Tokyo: 9:00 … 13:00 were missed
    await world.scheduler("a").tick()
    beats = [e for e in due(world) if isinstance(e, HeartbeatDue)]
    assert [b.coalesced for b in beats] == [1, 1, 1]
    assert beats[-1].fire_at == world.clock.time - timedelta(minutes=10)


async def test_two_replicas_after_downtime_cover_each_missed_occurrence_once() -> None:
    world = make_world()
    await world.scheduler("a").tick()
    world.clock.advance(timedelta(hours=4, minutes=25))  # 17:35 in Tokyo; 10 minutes behind: 17:25
    await world.scheduler("b", BEHIND).tick()  # coalesces 13:30 … 17:00
    await world.scheduler("a").tick()  # only 17:30 is left
    beats = [e for e in due(world) if isinstance(e, HeartbeatDue)]
    assert [b.coalesced for b in beats] == [8, 1]
    assert beats[0].fire_at < beats[1].fire_at == START + timedelta(minutes=20 + 4 * 60)


async def test_a_disabled_anima_passes_over_and_does_not_catch_up_when_enabled() -> None:
    world = make_world()
    scheduler = world.scheduler("a")
    await scheduler.tick()
    alice = world.directory.summaries[0]
    world.directory.summaries[0] = type(alice)(name="alice", enabled=False, status=alice.status)
    for _ in range(24):
        world.clock.advance(STEP)
        await scheduler.tick()
    assert not [e for e in due(world) if e.anima == "alice"]
    world.directory.summaries[0] = alice
    await scheduler.tick()
    assert not [e for e in due(world) if e.anima == "alice"]
    world.clock.advance(timedelta(minutes=30))
    await scheduler.tick()
    assert [e.coalesced for e in due(world) if e.anima == "alice"] == [1]


async def test_an_edited_schedule_applies_without_a_restart() -> None:
    world = make_world()
    scheduler = world.scheduler("a")
    await scheduler.tick()
    world.directory.files[("alice", "heartbeat.md")] = HEARTBEAT_MD.replace("30 minutes", "10 minutes")
    for _ in range(6):
        world.clock.advance(STEP)
        await scheduler.tick()
    beats = [e.fire_at for e in due(world) if isinstance(e, HeartbeatDue)]
    assert [(b - START).total_seconds() / 60 for b in beats] == [10, 20, 30]


async def run_both(*schedulers: Scheduler) -> None:
    for scheduler in schedulers:
        await scheduler.tick()


async def test_an_unreadable_schedule_is_reported_once_and_listed_in_health() -> None:
    world = make_world()
    a, b = world.scheduler("a"), world.scheduler("b")
    await run_both(a, b, a, b)
    rejected = [e for e in world.stream.events if isinstance(e, ScheduleRejected)]
    assert len(rejected) == 1 and rejected[0].file == "cron.md" and "blue moon" in rejected[0].schedule
    for scheduler in (a, b):
        (line,) = scheduler._health["rejected_schedules"]
        assert line["anima"] == "bob" and line["schedule"] == "## Broken (every blue moon)"
    world.directory.files[("bob", "cron.md")] += "\n"  # a new version of the file is reported again
    await run_both(a, b)
    assert len([e for e in world.stream.events if isinstance(e, ScheduleRejected)]) == 2
    world.directory.files[("bob", "cron.md")] = "## Fixed (daily 9:00)\nRead.\n"
    await run_both(a)
    assert a._health["rejected_schedules"] == []


async def test_schedules_keep_firing_from_the_last_read_while_memory_writer_is_away() -> None:
    world = make_world()
    scheduler = world.scheduler("a")
    await scheduler.tick()

    async def away() -> list[AnimaSummary]:
        raise RetryableError("memory-writer did not answer")

    world.directory.animas = away  # type: ignore[method-assign]
    world.clock.advance(timedelta(minutes=25))
    await scheduler.tick()
    assert [e.fire_at for e in due(world)] == [START + timedelta(minutes=20)]


async def test_a_publish_that_failed_is_completed_later_and_the_clock_reports_only_clean_ticks() -> None:
    world = make_world()
    scheduler = world.scheduler("a")
    await scheduler.tick()
    reported = scheduler._health["clock"]
    world.stream.failures = 1
    world.clock.advance(timedelta(minutes=25))
    await scheduler.tick()  # claimed, then the publish failed
    assert due(world) == [] and scheduler._health["clock"] == reported
    await scheduler.tick()  # the claim is still held: nothing yet
    world.clock.monotonic_s += 30
    await scheduler.tick()
    assert [e.fire_at for e in due(world)] == [START + timedelta(minutes=20)]
    assert scheduler._health["clock"] == world.clock.time.isoformat()
