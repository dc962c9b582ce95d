"""Active hours: the part of the day a heartbeat may fire in (``9:00 - 18:00 (Asia/Tokyo)``)."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime, time
from zoneinfo import ZoneInfo

from animas_core.schedules.zones import PLACEHOLDER, ScheduleError, normalise, zone_for

_CLOCK = r"\d{1,2}(?::\d{2}|時(?:\d{1,2}分|半)?)"
_RANGE = re.compile(
    rf"^(?P<start>{_CLOCK}) ?(?:-|~|〜|–|—|to|から) ?(?P<end>{_CLOCK})(?:まで)?"
    r"(?: ?\((?P<zone>[^()]+)\)| (?P<bare>\S+))?$",
    re.IGNORECASE,
)
_PARTS = re.compile(r"^(?P<hour>\d{1,2})(?::(?P<minute>\d{2})|時(?:(?P<minute_ja>\d{1,2})分|(?P<half>半))?)$")
EXAMPLES = "'9:00 - 18:00', '9:00 - 18:00 (Asia/Tokyo)', '22:00 - 6:00 (JST)', '9:00〜18:00'"


@dataclasses.dataclass(frozen=True)
class ActiveHours:
    """A daily window of wall-clock time; ``end`` is exclusive.

    ``start > end`` spans midnight (``22:00 - 6:00``); ``start == end`` (only from
    ``0:00 - 24:00``) is the whole day. ``zone`` is one written in the range, else None: the
    anima's zone.
    """

    start: time
    end: time
    zone: ZoneInfo | None

    def contains(self, moment: datetime, tz: ZoneInfo) -> bool:
        """Whether the aware ``moment`` falls inside, read on the wall clock of ``self.zone or tz``.

        Raises:
            ValueError: ``moment`` is naive.
        """
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"'moment' must be an aware datetime, got {moment!r}")
        wall = moment.astimezone(self.zone or tz).time().replace(tzinfo=None, fold=0)
        if self.start == self.end:
            return True
        if self.start < self.end:
            return self.start <= wall < self.end
        return wall >= self.start or wall < self.end

    def __str__(self) -> str:
        end = "24:00" if self.end == time(0) else f"{self.end:%H:%M}"
        zone = f" ({self.zone.key})" if self.zone is not None else ""
        return f"{self.start:%H:%M}-{end}{zone}"


def _clock(token: str, text: str, *, end: bool) -> tuple[time, bool]:
    match = _PARTS.match(token)
    assert match is not None  # the range pattern only lets clock tokens through
    hour = int(match["hour"])
    minute = int(match["minute"] or match["minute_ja"] or (30 if match["half"] else 0))
    if end and hour == 24 and minute == 0:
        return time(0), True
    if hour > 23 or minute > 59:
        raise ScheduleError(
            f"{token} is not a time of day in active hours {text.strip()!r} (0:00 to 23:59, 24:00 as the end)"
        )
    return time(hour, minute), False


def parse_active_hours(text: str) -> ActiveHours:
    """Parse ``H:MM - H:MM`` with an optional zone in parentheses or after it.

    Raises:
        ScheduleError: Not a range of two times, an unknown zone, or an empty range.
    """
    body = normalise(text)
    match = _RANGE.match(body)
    if match is None:
        raise ScheduleError(f"active hours {text.strip()!r} are not understood; write e.g. {EXAMPLES}")
    start, _ = _clock(match["start"], text, end=False)
    end, midnight = _clock(match["end"], text, end=True)
    if start == end and not (midnight and start == time(0)):
        raise ScheduleError(
            f"active hours {text.strip()!r} start and end at the same time (for all day write 0:00 - 24:00)"
        )
    written = match["zone"] or match["bare"]
    zone = None if written is None or written.strip() == PLACEHOLDER else zone_for(written)
    return ActiveHours(start=start, end=end, zone=zone)
