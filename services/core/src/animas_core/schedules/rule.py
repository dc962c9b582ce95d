"""What every notation compiles to, and how its wall-clock times become instants.

A :class:`Rule` is a set of wall-clock minutes of the day plus a day filter. Cron expressions,
the English and the Japanese notations all compile to one; the occurrences are then a pure
function of the rule and the zone, so every replica computes the same ones.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from animas_core.schedules.zones import ScheduleError

MINUTES_PER_DAY: Final = 24 * 60
MAX_FIRES: Final = 10_000
"""The most occurrences :meth:`Schedule.between` returns; a wider window is an error."""

_SEARCH_DAYS: Final = 366 * 30
"""How far ahead to look for a matching day: a rule that matches none in this span never fires
(parsing refuses those, so reaching it is a bug)."""

_DST_MARGIN: Final = timedelta(hours=6)
"""Wall times further than this before ``after`` can never fall after it, whatever the offsets."""


@dataclasses.dataclass(frozen=True)
class Rule:
    """Wall-clock minutes of the day, and the days they apply on.

    Attributes:
        minutes: Minutes since local midnight, ascending and unique.
        months: 1 (January) … 12.
        days: Days of the month, 1 … 31.
        weekdays: POSIX weekdays: 0 = Sunday … 6 = Saturday.
        days_any: The day-of-month field was unrestricted (began with ``*``).
        weekdays_any: The day-of-week field was unrestricted (began with ``*``).
    """

    minutes: tuple[int, ...]
    months: frozenset[int] = frozenset(range(1, 13))
    days: frozenset[int] = frozenset(range(1, 32))
    weekdays: frozenset[int] = frozenset(range(7))
    days_any: bool = True
    weekdays_any: bool = True

    def on(self, day: date) -> bool:
        """Whether the rule fires on this local date (Vixie cron's day-of-month/day-of-week rule)."""
        if day.month not in self.months:
            return False
        by_date = day.day in self.days
        by_weekday = day.isoweekday() % 7 in self.weekdays
        if self.days_any or self.weekdays_any:
            return by_date and by_weekday
        return by_date or by_weekday

    def occurrences(self, after: datetime, zone: ZoneInfo) -> Iterator[datetime]:
        """Fire instants strictly after ``after``, ascending, each once, as aware UTC datetimes.

        Raises:
            ValueError: ``after`` is naive.
        """
        if after.tzinfo is None or after.utcoffset() is None:
            raise ValueError(f"'after' must be an aware datetime, got {after!r}")
        after_utc = after.astimezone(UTC)
        earliest = after_utc.astimezone(zone).replace(tzinfo=None, fold=0) - _DST_MARGIN
        day = earliest.date()
        last = after_utc
        idle_days = 0
        while idle_days < _SEARCH_DAYS:
            idle_days += 1
            if self.on(day):
                start = 0
                if day == earliest.date():
                    start = bisect.bisect_left(self.minutes, earliest.hour * 60 + earliest.minute)
                for minute in self.minutes[start:]:
                    instant = resolve(day, minute, zone)
                    # Equal instants (several wall times in one DST gap) fire once; nothing goes back.
                    if instant > last:
                        last = instant
                        idle_days = 0
                        yield instant
            day += timedelta(days=1)
        raise RuntimeError(f"no occurrence within {_SEARCH_DAYS} days after {last}: {self}")


def resolve(day: date, minute: int, zone: ZoneInfo) -> datetime:
    """The instant (UTC) of a wall-clock minute on a local date.

    An ambiguous wall time (the repeated hour when clocks go back) is its first occurrence; a wall
    time that does not exist (skipped when clocks go forward) is the first instant after the gap.
    """
    local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone)  # fold=0: first
    instant = local.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == local.replace(tzinfo=None):
        return instant
    return _gap_end(local, zone)


def _gap_end(local: datetime, zone: ZoneInfo) -> datetime:
    """The transition instant of the gap ``local`` falls in (the first valid instant after it)."""
    # fold=0 and fold=1 read a nonexistent time with the offsets before and after the gap; the
    # transition lies between the two readings.
    readings = sorted(local.replace(fold=fold).astimezone(UTC) for fold in (0, 1))
    low, high = (int(r.timestamp()) for r in readings)
    after_offset = readings[1].astimezone(zone).utcoffset()
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, UTC).astimezone(zone).utcoffset() == after_offset:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


@dataclasses.dataclass(frozen=True)
class Schedule:
    """A parsed schedule (see :mod:`animas_core.schedules` for the notations and the rules).

    Attributes:
        text: The schedule as written.
        zone: A zone written inside the schedule (``Daily 9:00 JST``), else None: the anima's.
        rule: What the text compiled to.
    """

    text: str
    zone: ZoneInfo | None
    rule: Rule = dataclasses.field(repr=False)

    def next_after(self, after: datetime, tz: ZoneInfo) -> datetime:
        """The first fire time strictly after ``after`` (aware), as an aware UTC datetime.

        The wall clock is ``self.zone or tz``.
        """
        return next(self.rule.occurrences(after, self.zone or tz))

    def between(self, start: datetime, end: datetime, tz: ZoneInfo) -> list[datetime]:
        """Fire times in ``(start, end]``, UTC, ascending.

        Raises:
            ScheduleError: More than :data:`MAX_FIRES` fall in the window.
        """
        fires: list[datetime] = []
        for instant in self.rule.occurrences(start, self.zone or tz):
            if instant > end:
                break
            if len(fires) == MAX_FIRES:
                raise ScheduleError(
                    f"{self.text!r} fires more than {MAX_FIRES} times between {start} and {end}"
                )
            fires.append(instant)
        return fires
