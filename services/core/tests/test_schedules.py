"""The schedule notation: cron, English and Japanese, zones, daylight saving and intervals."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from animas_core.schedules import MAX_FIRES, ScheduleError, parse_schedule, zone_for

TOKYO = ZoneInfo("Asia/Tokyo")
NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
README = Path(__file__).resolve().parents[3] / "README.md"

# Sunday 2025-06-01 00:00 UTC: a week that starts on a Sunday makes the weekday cases readable.
START = datetime(2025, 6, 1, tzinfo=UTC)


def local_fires(text: str, tz: ZoneInfo, count: int, after: datetime = START) -> list[str]:
    schedule = parse_schedule(text)
    wall = schedule.zone or tz
    fires: list[str] = []
    for _ in range(count):
        after = schedule.next_after(after, tz)
        assert after.tzinfo is UTC
        fires.append(after.astimezone(wall).strftime("%a %m-%d %H:%M"))
    return fires


NOTATIONS = [
    # cron
    ("0 17 * * 5", ["Fri 06-06 17:00", "Fri 06-13 17:00"]),
    ("0 9 * * 0", ["Sun 06-01 09:00", "Sun 06-08 09:00"]),
    ("0 9 * * 7", ["Sun 06-01 09:00", "Sun 06-08 09:00"]),
    ("0 9 * * sun", ["Sun 06-01 09:00", "Sun 06-08 09:00"]),
    ("0 9 * * 5-7", ["Sun 06-01 09:00", "Fri 06-06 09:00", "Sat 06-07 09:00"]),
    ("30 8 * * MON-FRI", ["Mon 06-02 08:30", "Tue 06-03 08:30"]),
    ("*/20 9-10 * * 1", ["Mon 06-02 09:00", "Mon 06-02 09:20", "Mon 06-02 09:40", "Mon 06-02 10:00"]),
    ("0 0,12 1 jan,jun *", ["Sun 06-01 12:00", "Thu 01-01 00:00"]),
    ("0 9 10 * 5", ["Fri 06-06 09:00", "Tue 06-10 09:00", "Fri 06-13 09:00"]),  # either day field
    ("0 9 3 * *", ["Tue 06-03 09:00", "Thu 07-03 09:00"]),
    ("0 9 */2 * 1", ["Mon 06-09 09:00", "Mon 06-23 09:00"]),  # '*'-led day field: both must match
    ("10-20/5 6 * * *", ["Sun 06-01 06:10", "Sun 06-01 06:15", "Sun 06-01 06:20"]),
    # English
    ("every day at 9:00", ["Sun 06-01 09:00", "Mon 06-02 09:00"]),
    ("Daily 9:00", ["Sun 06-01 09:00", "Mon 06-02 09:00"]),
    ("daily 09:05", ["Sun 06-01 09:05"]),
    ("every Friday 17:00", ["Fri 06-06 17:00", "Fri 06-13 17:00"]),
    ("Every friday at 17:00", ["Fri 06-06 17:00"]),
    ("fridays 17:00", ["Fri 06-06 17:00"]),
    ("every mon, wed and fri at 9:00", ["Mon 06-02 09:00", "Wed 06-04 09:00", "Fri 06-06 09:00"]),
    ("weekdays 9:00", ["Mon 06-02 09:00", "Tue 06-03 09:00", "Wed 06-04 09:00"]),
    ("every weekday at 9:00", ["Mon 06-02 09:00"]),
    ("weekends 10:00", ["Sun 06-01 10:00", "Sat 06-07 10:00"]),
    ("every 30 minutes", ["Sun 06-01 00:30", "Sun 06-01 01:00"]),
    ("every minute", ["Sun 06-01 00:01", "Sun 06-01 00:02"]),
    ("every 2 hours", ["Sun 06-01 02:00", "Sun 06-01 04:00"]),
    ("every hour", ["Sun 06-01 01:00", "Sun 06-01 02:00"]),
    ("hourly", ["Sun 06-01 01:00", "Sun 06-01 02:00"]),
    # Japanese
    ("毎日 9:00", ["Sun 06-01 09:00", "Mon 06-02 09:00"]),
    ("毎日９：００", ["Sun 06-01 09:00"]),
    ("毎日 9時", ["Sun 06-01 09:00"]),
    ("毎日 9時半", ["Sun 06-01 09:30"]),
    ("毎日9時15分に", ["Sun 06-01 09:15"]),
    ("毎週金曜 17:00", ["Fri 06-06 17:00", "Fri 06-13 17:00"]),
    ("毎週金曜日 17:00", ["Fri 06-06 17:00"]),
    ("毎週日曜日の10:00", ["Sun 06-01 10:00", "Sun 06-08 10:00"]),
    ("毎週月・水・金曜 9:00", ["Mon 06-02 09:00", "Wed 06-04 09:00", "Fri 06-06 09:00"]),
    ("平日 9:00", ["Mon 06-02 09:00", "Tue 06-03 09:00"]),
    ("土日 10:00", ["Sun 06-01 10:00", "Sat 06-07 10:00"]),
    ("30分ごと", ["Sun 06-01 00:30", "Sun 06-01 01:00"]),
    ("１５分毎", ["Sun 06-01 00:15"]),
    ("2時間ごと", ["Sun 06-01 02:00", "Sun 06-01 04:00"]),
    ("毎時", ["Sun 06-01 01:00"]),
]


@pytest.mark.parametrize(("text", "expected"), NOTATIONS, ids=[n[0] for n in NOTATIONS])
def test_every_notation_fires_when_documented(text: str, expected: list[str]) -> None:
    assert local_fires(text, ZoneInfo("UTC"), len(expected)) == expected


@pytest.mark.parametrize(
    "text", ["0 17 * * 5", "0 17 * * fri", "every Friday 17:00", "fridays 17:00", "毎週金曜 17:00"]
)
@pytest.mark.parametrize("offset_days", range(8))
@pytest.mark.parametrize("tz", [ZoneInfo("UTC"), TOKYO, NEW_YORK])
def test_friday_is_friday_from_any_day_in_any_zone(text: str, offset_days: int, tz: ZoneInfo) -> None:
    after = START + timedelta(days=offset_days, hours=5)
    fire = parse_schedule(text).next_after(after, tz).astimezone(tz)
    assert fire.weekday() == 4 and (fire.hour, fire.minute) == (17, 0)
    assert timedelta(0) < fire - after <= timedelta(days=7)


@pytest.mark.parametrize(
    "text", ["0 9 * * 0", "0 9 * * 7", "0 9 * * sun", "every sunday 9:00", "毎週日曜 9:00"]
)
def test_zero_and_seven_are_both_sunday(text: str) -> None:
    fires = parse_schedule(text).between(START, START + timedelta(days=28), TOKYO)
    assert len(fires) == 4 and {f.astimezone(TOKYO).weekday() for f in fires} == {6}


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# START is 9:00 in Tokyo, so a Tokyo 9:00 schedule fires next on the following day.
ZONED = [
    ("Daily 9:00 JST", ZoneInfo("UTC"), utc(2025, 6, 2)),
    ("Daily 9:00", TOKYO, utc(2025, 6, 2)),
    ("Daily 9:00", ZoneInfo("UTC"), utc(2025, 6, 1, 9)),
    ("Daily 9:00 UTC", TOKYO, utc(2025, 6, 1, 9)),
    ("毎日 9:00 JST", ZoneInfo("UTC"), utc(2025, 6, 2)),
    ("0 9 * * * Asia/Tokyo", NEW_YORK, utc(2025, 6, 2)),
    ("every Friday 17:00 PDT", ZoneInfo("UTC"), utc(2025, 6, 7)),
    ("every Friday 17:00 pst", ZoneInfo("UTC"), utc(2025, 6, 7)),  # PST means Los Angeles time, DST too
    ("every day at 9:00 {timezone}", TOKYO, utc(2025, 6, 2)),
    ("weekdays 9:00 CET", ZoneInfo("UTC"), utc(2025, 6, 2, 7)),
]


@pytest.mark.parametrize(("text", "tz", "expected"), ZONED, ids=[z[0] for z in ZONED])
def test_a_written_zone_wins_over_the_animas(text: str, tz: ZoneInfo, expected: datetime) -> None:
    assert parse_schedule(text).next_after(START, tz) == expected


def test_zone_names_and_abbreviations() -> None:
    assert zone_for("JST") is TOKYO and zone_for("jst") is TOKYO
    assert zone_for("Asia/Tokyo") is TOKYO
    assert zone_for("EST") is NEW_YORK and zone_for("EDT") is NEW_YORK
    assert zone_for("GMT") == ZoneInfo("UTC") and zone_for("UTC") == ZoneInfo("UTC")
    assert zone_for("CET") is BERLIN
    assert parse_schedule("Daily 9:00 JST").zone is TOKYO
    assert parse_schedule("Daily 9:00").zone is None
    with pytest.raises(ScheduleError, match="ambiguous"):
        zone_for("CST")
    with pytest.raises(ScheduleError, match="unknown time zone 'Mars/Olympus'"):
        zone_for("Mars/Olympus")


DST = [
    # New York springs forward on 2025-03-09 at 2:00 EST (07:00 UTC) to 3:00 EDT.
    (
        "30 2 * * *",
        NEW_YORK,
        utc(2025, 3, 8),
        [utc(2025, 3, 8, 7, 30), utc(2025, 3, 9, 7), utc(2025, 3, 10, 6, 30)],
    ),
    ("Daily 9:00", NEW_YORK, utc(2025, 3, 8), [utc(2025, 3, 8, 14), utc(2025, 3, 9, 13)]),
    (
        "*/15 * * * *",
        NEW_YORK,
        utc(2025, 3, 9, 6, 30),
        [utc(2025, 3, 9, 6, 45), utc(2025, 3, 9, 7), utc(2025, 3, 9, 7, 15)],
    ),
    # New York falls back on 2025-11-02 at 2:00 EDT (06:00 UTC) to 1:00 EST: 1:30 comes twice.
    ("30 1 * * *", NEW_YORK, utc(2025, 11, 1, 12), [utc(2025, 11, 2, 5, 30), utc(2025, 11, 3, 6, 30)]),
    (
        "every 30 minutes",
        NEW_YORK,
        utc(2025, 11, 2, 5),
        [utc(2025, 11, 2, 5, 30), utc(2025, 11, 2, 7), utc(2025, 11, 2, 7, 30)],
    ),
    # Berlin: forward on 2025-03-30 at 2:00 CET (01:00 UTC), back on 2025-10-26 at 3:00 CEST (01:00 UTC).
    ("30 2 * * *", BERLIN, utc(2025, 3, 29, 12), [utc(2025, 3, 30, 1), utc(2025, 3, 31, 0, 30)]),
    ("30 2 * * *", BERLIN, utc(2025, 10, 25, 12), [utc(2025, 10, 26, 0, 30), utc(2025, 10, 27, 1, 30)]),
    ("毎日 2:30", BERLIN, utc(2025, 3, 29, 12), [utc(2025, 3, 30, 1), utc(2025, 3, 31, 0, 30)]),
]


@pytest.mark.parametrize(("text", "tz", "after", "expected"), DST, ids=[f"{d[0]}@{d[2]:%m-%d}" for d in DST])
def test_daylight_saving_gaps_fire_after_the_gap_and_overlaps_fire_once(
    text: str, tz: ZoneInfo, after: datetime, expected: list[datetime]
) -> None:
    assert parse_schedule(text).between(after, expected[-1], tz) == expected


@pytest.mark.parametrize(
    ("day", "expected"),
    [((2025, 3, 9), 46), ((2025, 11, 2), 48), ((2025, 6, 1), 48)],
    ids=["spring-forward", "fall-back", "ordinary"],
)
def test_intervals_over_a_dst_day_never_repeat_or_go_back(day: tuple[int, int, int], expected: int) -> None:
    midnight = datetime(*day, tzinfo=NEW_YORK)
    second = timedelta(seconds=1)
    # (midnight - 1s, next midnight - 1s]: the local day's own fire times.
    fires = parse_schedule("every 30 minutes").between(
        midnight - second, midnight + timedelta(days=1) - second, NEW_YORK
    )
    assert len(fires) == expected
    assert fires == sorted(set(fires))
    assert {f.astimezone(NEW_YORK).date() for f in fires} == {midnight.date()}


def test_intervals_count_from_local_midnight() -> None:
    assert local_fires("every 45 minutes", ZoneInfo("UTC"), 3, utc(2025, 6, 1, 23)) == [
        "Sun 06-01 23:15",
        "Mon 06-02 00:00",
        "Mon 06-02 00:45",
    ]
    assert local_fires("every 7 hours", ZoneInfo("UTC"), 5) == [
        "Sun 06-01 07:00",
        "Sun 06-01 14:00",
        "Sun 06-01 21:00",
        "Mon 06-02 00:00",
        "Mon 06-02 07:00",
    ]
    kolkata = ZoneInfo("Asia/Kolkata")  # UTC+5:30: the grid is local, not UTC
    assert parse_schedule("every 2 hours").next_after(utc(2025, 6, 1, 18), kolkata) == utc(2025, 6, 1, 18, 30)
    # The same occurrences whatever instant one starts from: a pure function of text and zone.
    schedule = parse_schedule("every 45 minutes")
    grid = set(schedule.between(START, START + timedelta(days=2), TOKYO))
    for minutes in (1, 17, 44, 600):
        assert schedule.next_after(START + timedelta(minutes=minutes), TOKYO) in grid


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("every 30 minutes", 48),
        ("hourly", 24),
        ("every 2 hours", 12),
        ("Daily 9:00", 1),
        ("*/5 * * * *", 288),
    ],
)
def test_between_counts_over_a_day(text: str, count: int) -> None:
    fires = parse_schedule(text).between(START, START + timedelta(days=1), ZoneInfo("UTC"))
    assert len(fires) == count and fires == sorted(fires)
    assert all(START < f <= START + timedelta(days=1) for f in fires)


def test_between_is_capped_and_needs_aware_datetimes() -> None:
    with pytest.raises(ScheduleError, match=str(MAX_FIRES)):
        parse_schedule("every minute").between(START, START + timedelta(days=7), TOKYO)
    with pytest.raises(ValueError, match="aware"):
        parse_schedule("hourly").next_after(datetime(2025, 6, 1), TOKYO)


REFUSED = [
    ("every blue moon", "not understood"),
    ("61 * * * *", "minute 61 is out of range 0-59"),
    ("0 24 * * *", "hour 24 is out of range"),
    ("0 9 * * 8", "day of week 8 is out of range 0-7"),
    ("0 9 * 13 *", "month 13 is out of range"),
    ("0 9 * * 5-1", "runs backwards"),
    ("5/15 * * * *", "needs a range"),
    ("0 9 * *", "5 fields"),
    ("0 0 9 * * 1", "5 fields"),
    ("0 0 31 2 *", "never fires"),
    ("0 9 * * blursday", "not a number or a name"),
    ("@daily", "not understood"),
    ("毎月", "not understood"),
    ("毎月1日 9:00", "not understood"),
    ("1日おき", "not understood"),
    ("", "empty"),
    ("daily", "not understood"),
    ("every day at 25:00", "25:00 is not a time of day"),
    ("every friday at 5pm", "24-hour"),
    ("friday 9:00", "not understood"),
    ("every 2 days", "not understood"),
    ("every 0 minutes", "between 1 minute and 24 hours"),
    ("every 25 hours", "between 1 minute and 24 hours"),
    ("every day at 9:00 Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
    ("every day at 9:00 CST", "ambiguous"),
]


@pytest.mark.parametrize(("text", "message"), REFUSED, ids=[r[0] or "empty" for r in REFUSED])
def test_what_is_not_understood_is_refused_never_guessed(text: str, message: str) -> None:
    with pytest.raises(ScheduleError, match=re.escape(message)):
        parse_schedule(text)


def _readme_examples() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Schedules\n", 1)[1]
    table = section.split("| notation | examples |", 1)[1].split("\n\n", 1)[0]
    rows = [row.split("|")[2] for row in table.strip().splitlines()[1:]]
    return [example for row in rows for example in re.findall(r"`([^`]+)`", row)]


def test_every_example_in_the_readme_parses() -> None:
    examples = _readme_examples()
    assert len(examples) > 15 and "0 17 * * 5" in examples and "毎週金曜 17:00" in examples
    for example in examples:
        parse_schedule(example)
