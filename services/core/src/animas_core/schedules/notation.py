"""``parse_schedule``: cron expressions, plain English and Japanese, with an optional zone.

The accepted forms are listed in :mod:`animas_core.schedules`; anything else is a
:class:`ScheduleError` that says what was not understood.
"""

from __future__ import annotations

import re
from typing import Final

from animas_core.schedules.cron_fields import WEEKDAY_NAMES, looks_like_cron, parse_cron_expression
from animas_core.schedules.rule import MINUTES_PER_DAY, Rule, Schedule
from animas_core.schedules.zones import PLACEHOLDER, ScheduleError, normalise, zone_for

WEEKDAYS: Final = frozenset({1, 2, 3, 4, 5})
WEEKEND: Final = frozenset({0, 6})
_FULL_NAMES: Final = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
_DAY_WORDS: Final[dict[str, int]] = {
    **{name: i for i, name in enumerate(WEEKDAY_NAMES)},
    **{name: i for i, name in enumerate(_FULL_NAMES)},
    "tues": 2,
    "thur": 4,
    "thurs": 4,
}
_JA_DAYS: Final = {"日": 0, "月": 1, "火": 2, "水": 3, "木": 4, "金": 5, "土": 6}

_TIME = r"(?P<hour>\d{1,2}):(?P<minute>\d{2})"
_AT = rf"(?: at)? {_TIME}"
_EN_DAILY = re.compile(rf"^(?:every day|everyday|each day|daily){_AT}$")
_EN_WEEKDAYS = re.compile(rf"^(?:every weekday|(?:on )?weekdays){_AT}$")
_EN_WEEKENDS = re.compile(rf"^(?:every weekend|(?:on )?weekends){_AT}$")
_SEPARATOR = r"(?:, and |, ?| and | ?& ?)"
_EN_DAYS = re.compile(rf"^(?:(?P<every>every) |on )?(?P<days>[a-z]+(?:{_SEPARATOR}[a-z]+)*){_AT}$")
_EN_INTERVAL = re.compile(r"^every (?:(?P<count>\d+) )?(?P<unit>minutes?|mins?|hours?)$")
_AM_PM = re.compile(r"\d ?(?:am|pm|a\.m\.|p\.m\.)(?:\s|$)")

_JA_TIME = r"(?P<hour>\d{1,2})(?::(?P<minute>\d{2})|時(?:(?P<minute_ja>\d{1,2})分|(?P<half>半))?)"
_JA_DAY = r"[日月火水木金土](?:曜日?)?"
_JA_AT = rf"の?{_JA_TIME}に?"
_JA_DAILY = re.compile(rf"^毎日{_JA_AT}$")
_JA_WEEKDAYS = re.compile(rf"^(?P<which>平日|土日|週末){_JA_AT}$")
_JA_WEEKLY = re.compile(rf"^毎週(?P<days>{_JA_DAY}(?:[・、,]?{_JA_DAY})*){_JA_AT}$")
_JA_INTERVAL = re.compile(r"^(?P<count>\d+)(?P<unit>分|時間)(?:ごと|毎)に?$")
_ZONE_LIKE = re.compile(r"[A-Z]{2,5}|[A-Za-z_]+/[A-Za-z0-9_+\-/]+")
"""A last word meant as a zone (so an unknown one is reported as a zone, not as bad notation)."""
_JAPANESE = re.compile(r"[\u3000-\u30ff\u4e00-\u9fff]")

EN_EXAMPLES: Final = (
    "'every day at 9:00', 'every Friday 17:00', 'weekdays 9:00', 'every 30 minutes', '0 9 * * 1-5'"
)
JA_EXAMPLES: Final = "'毎日 9:00', '毎週金曜 17:00', '平日 9:00', '30分ごと', '2時間ごと'"


def parse_schedule(text: str) -> Schedule:
    """Parse one schedule; a trailing zone (``Daily 9:00 JST``) becomes :attr:`Schedule.zone`.

    Raises:
        ScheduleError: The text is not one of the accepted notations (nothing is guessed).
    """
    written = text.strip()
    body = normalise(text)
    if not body:
        raise ScheduleError("the schedule is empty")
    head, _, last = body.rpartition(" ")
    if head and last == PLACEHOLDER:
        return Schedule(written, None, _rule(head))
    if head:
        try:
            zone = zone_for(last)
        except ScheduleError as zone_error:
            try:
                return Schedule(written, None, _rule(body))
            except ScheduleError:
                if _ZONE_LIKE.fullmatch(last) and _parses(head):
                    raise zone_error from None
                raise
        return Schedule(written, zone, _rule(head))
    return Schedule(written, None, _rule(body))


def _parses(text: str) -> bool:
    try:
        _rule(text)
    except ScheduleError:
        return False
    return True


def _rule(text: str) -> Rule:
    if _JAPANESE.search(text):
        return _japanese(text.replace(" ", ""), text)
    if looks_like_cron(text):
        return parse_cron_expression(text)
    return _english(text.lower(), text)


def _clock(hour: str, minute: str, text: str) -> int:
    h, m = int(hour), int(minute)
    if h > 23 or m > 59:
        raise ScheduleError(f"{hour}:{minute} is not a time of day in {text!r} (00:00 to 23:59)")
    return h * 60 + m


def _at(minute_of_day: int, weekdays: frozenset[int] | None = None) -> Rule:
    if weekdays is None:
        return Rule(minutes=(minute_of_day,))
    return Rule(minutes=(minute_of_day,), weekdays=weekdays, weekdays_any=False)


def interval_rule(minutes: int, text: str) -> Rule:
    """Every ``minutes`` minutes, counted from local midnight (the count restarts each day).

    Raises:
        ScheduleError: Not between 1 minute and 24 hours.
    """
    if not 1 <= minutes <= MINUTES_PER_DAY:
        raise ScheduleError(f"the interval in {text!r} must be between 1 minute and 24 hours")
    return Rule(minutes=tuple(range(0, MINUTES_PER_DAY, minutes)))


def _english(body: str, text: str) -> Rule:
    if _AM_PM.search(body):
        raise ScheduleError(f"write times as 24-hour H:MM in {text!r} (17:00, not 5pm)")
    if body == "hourly":
        return interval_rule(60, text)
    if match := _EN_DAILY.match(body):
        return _at(_clock(match["hour"], match["minute"], text))
    if match := _EN_WEEKDAYS.match(body):
        return _at(_clock(match["hour"], match["minute"], text), WEEKDAYS)
    if match := _EN_WEEKENDS.match(body):
        return _at(_clock(match["hour"], match["minute"], text), WEEKEND)
    if match := _EN_INTERVAL.match(body):
        count = int(match["count"]) if match["count"] is not None else 1
        return interval_rule(count * (60 if match["unit"].startswith("hour") else 1), text)
    if match := _EN_DAYS.match(body):
        names = re.split(_SEPARATOR, match["days"])
        days: set[int] = set()
        for name in names:
            # "every friday" or "fridays"; a bare "friday" could mean just the next one.
            singular = name.removesuffix("s") if name.endswith("days") else name
            if singular not in _DAY_WORDS or (match["every"] is None and singular == name):
                break
            days.add(_DAY_WORDS[singular])
        else:
            return _at(_clock(match["hour"], match["minute"], text), frozenset(days))
    raise ScheduleError(f"schedule {text!r} is not understood; write e.g. {EN_EXAMPLES}")


def _japanese(body: str, text: str) -> Rule:
    if match := _JA_INTERVAL.match(body):
        return interval_rule(int(match["count"]) * (60 if match["unit"] == "時間" else 1), text)
    if body == "毎時":
        return interval_rule(60, text)
    match = _JA_DAILY.match(body) or _JA_WEEKDAYS.match(body) or _JA_WEEKLY.match(body)
    if match is None:
        raise ScheduleError(f"schedule {text!r} is not understood; write e.g. {JA_EXAMPLES}")
    minute = match["minute"] or match["minute_ja"] or ("30" if match["half"] else "0")
    at = _clock(match["hour"], minute, text)
    groups = match.groupdict()
    if groups.get("which") is not None:
        return _at(at, WEEKDAYS if match["which"] == "平日" else WEEKEND)
    if groups.get("days") is not None:
        # "日曜日" is Sunday and its suffix: drop the suffixes, then every character left is a day.
        bare = match["days"].replace("曜日", "").replace("曜", "")
        return _at(at, frozenset(_JA_DAYS[c] for c in bare if c in _JA_DAYS))
    return _at(at)
