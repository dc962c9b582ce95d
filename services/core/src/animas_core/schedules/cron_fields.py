"""Five-field cron expressions: ``minute hour day-of-month month day-of-week``.

Each field is ``*`` or a comma-separated list of values, ranges ``a-b`` and steps ``*/s`` or
``a-b/s``. Months and weekdays also take English names (``jan`` … ``dec``, ``sun`` … ``sat``, any
case). Weekdays are POSIX: 0 and 7 are Sunday. When both day fields are restricted (neither begins
with ``*``), a day matches if either matches; otherwise both must (Vixie cron).
"""

from __future__ import annotations

import dataclasses
import re
from datetime import date, timedelta
from typing import Final

from animas_core.schedules.rule import Rule
from animas_core.schedules.zones import ScheduleError

MONTH_NAMES: Final = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
WEEKDAY_NAMES: Final = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
"""POSIX order: index 0 is Sunday."""

FIELDS: Final = 5
_ITEM = re.compile(r"^(?P<base>\*|[0-9a-z]+(?:-[0-9a-z]+)?)(?:/(?P<step>[0-9]+))?$")
_LOOKS_LIKE_CRON = re.compile(r"^[0-9*][0-9*,/\-]*$")


@dataclasses.dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    name_base: int = 0


_MINUTE = _Field("minute", 0, 59)
_HOUR = _Field("hour", 0, 23)
_DAY = _Field("day of month", 1, 31)
_MONTH = _Field("month", 1, 12, MONTH_NAMES, 1)
_WEEKDAY = _Field("day of week", 0, 7, WEEKDAY_NAMES, 0)


def looks_like_cron(text: str) -> bool:
    """Whether ``text`` is meant as a cron expression (it begins with a number or ``*``, no ``:``)."""
    first = text.split(" ", 1)[0]
    return bool(_LOOKS_LIKE_CRON.match(first)) and ":" not in text


def _value(token: str, field: _Field, expression: str) -> int:
    if token.isdigit():
        value = int(token)
    elif token in field.names:
        value = field.names.index(token) + field.name_base
    else:
        raise ScheduleError(f"cron {field.name} {token!r} is not a number or a name in {expression!r}")
    if not field.low <= value <= field.high:
        raise ScheduleError(
            f"cron {field.name} {value} is out of range {field.low}-{field.high} in {expression!r}"
        )
    return value


def _parse_field(text: str, field: _Field, expression: str) -> frozenset[int]:
    values: set[int] = set()
    for item in text.split(","):
        match = _ITEM.match(item)
        if match is None:
            raise ScheduleError(
                f"cron {field.name} field {text!r} is not understood in {expression!r} "
                "(use *, a value, a range a-b, a list a,b or a step */s or a-b/s)"
            )
        base, step_text = match["base"], match["step"]
        if base == "*":
            low, high = field.low, field.high
        elif "-" in base:
            first, last = base.split("-")
            low, high = _value(first, field, expression), _value(last, field, expression)
            if low > high:
                raise ScheduleError(f"cron {field.name} range {base!r} runs backwards in {expression!r}")
        elif step_text is not None:
            raise ScheduleError(
                f"cron {field.name} step {item!r} needs a range in {expression!r}: write '*/{step_text}' "
                f"or '{base}-{field.high}/{step_text}'"
            )
        else:
            low = high = _value(base, field, expression)
        step = int(step_text) if step_text is not None else 1
        if step < 1:
            raise ScheduleError(f"cron {field.name} step must be at least 1 in {expression!r}")
        values.update(range(low, high + 1, step))
    return frozenset(values)


def parse_cron_expression(expression: str) -> Rule:
    """The rule of a five-field cron expression (already normalised: single spaces).

    Raises:
        ScheduleError: Not five fields, a field not understood, or a day that never comes.
    """
    fields = expression.lower().split(" ")
    if len(fields) != FIELDS:
        raise ScheduleError(
            f"a cron expression has 5 fields (minute hour day-of-month month day-of-week), "
            f"got {len(fields)} in {expression!r}"
        )
    minute, hour, day, month, weekday = fields
    minutes = _parse_field(minute, _MINUTE, expression)
    hours = _parse_field(hour, _HOUR, expression)
    rule = Rule(
        minutes=tuple(sorted(h * 60 + m for h in hours for m in minutes)),
        months=_parse_field(month, _MONTH, expression),
        days=_parse_field(day, _DAY, expression),
        weekdays=frozenset(d % 7 for d in _parse_field(weekday, _WEEKDAY, expression)),
        days_any=day.startswith("*"),
        weekdays_any=weekday.startswith("*"),
    )
    if not _ever(rule):
        raise ScheduleError(f"cron expression {expression!r} never fires: no date has that day")
    return rule


def _ever(rule: Rule) -> bool:
    """Whether some date matches; 28 years hold every weekday and leap-year combination."""
    if rule.days_any or not rule.weekdays_any:
        # Any day of the month, or either day field may match: some date always does.
        return True
    day = date(2000, 1, 1)
    for _ in range(366 * 28):
        if rule.on(day):
            return True
        day += timedelta(days=1)
    return False
