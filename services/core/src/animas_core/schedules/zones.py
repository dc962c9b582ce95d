"""Time zones by name, the error every schedule parser raises, and text normalisation."""

from __future__ import annotations

import re
import unicodedata
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class ScheduleError(ValueError):
    """A schedule, active-hours range or time zone that is not understood.

    The message says exactly what was not understood and shows a form that would be; nothing is
    ever guessed.
    """


ABBREVIATIONS: Final[dict[str, str]] = {
    "UTC": "UTC",
    "GMT": "UTC",
    "JST": "Asia/Tokyo",
    "KST": "Asia/Seoul",
    "HKT": "Asia/Hong_Kong",
    "SGT": "Asia/Singapore",
    "CET": "Europe/Berlin",
    "CEST": "Europe/Berlin",
    "EET": "Europe/Helsinki",
    "EEST": "Europe/Helsinki",
    "WET": "Europe/Lisbon",
    "WEST": "Europe/Lisbon",
    "EST": "America/New_York",
    "EDT": "America/New_York",
    "CDT": "America/Chicago",
    "MST": "America/Denver",
    "MDT": "America/Denver",
    "PST": "America/Los_Angeles",
    "PDT": "America/Los_Angeles",
    "AKST": "America/Anchorage",
    "AKDT": "America/Anchorage",
    "HST": "Pacific/Honolulu",
    "AEST": "Australia/Sydney",
    "AEDT": "Australia/Sydney",
    "NZST": "Pacific/Auckland",
    "NZDT": "Pacific/Auckland",
}
"""Abbreviations accepted for a zone (any case). Each names a region's civil time, daylight saving
included: ``EST`` and ``EDT`` both mean America/New_York, whichever half of the year it is."""

AMBIGUOUS: Final[dict[str, str]] = {
    "CST": "US Central or China Standard Time",
    "IST": "India, Ireland or Israel Standard Time",
    "BST": "British Summer Time or Bangladesh Standard Time",
    "AST": "Atlantic or Arabia Standard Time",
}
"""Abbreviations refused because they name more than one zone."""

PLACEHOLDER: Final = "{timezone}"
"""A template placeholder that means the anima's own zone (as if no zone were written)."""

_WHITESPACE = re.compile(r"\s+")


def zone_for(name: str) -> ZoneInfo:
    """The zone an IANA name (``Asia/Tokyo``, ``UTC``) or a known abbreviation (``JST``) names.

    Raises:
        ScheduleError: The name is unknown or ambiguous.
    """
    cleaned = name.strip()
    upper = cleaned.upper()
    if upper in ABBREVIATIONS:
        return ZoneInfo(ABBREVIATIONS[upper])
    if upper in AMBIGUOUS:
        raise ScheduleError(
            f"time zone {cleaned!r} is ambiguous ({AMBIGUOUS[upper]}): write an IANA name such as "
            "America/Chicago or Asia/Shanghai"
        )
    try:
        return ZoneInfo(cleaned)
    except (ZoneInfoNotFoundError, ValueError):
        # ValueError: not a valid key at all (an absolute path, "..", an empty string).
        raise ScheduleError(
            f"unknown time zone {cleaned!r}: write an IANA name such as Asia/Tokyo or Europe/Berlin, "
            "or an abbreviation such as JST, UTC, CET, EST or PST"
        ) from None


def normalise(text: str) -> str:
    """NFKC (full-width digits, colon and spaces become ASCII), one space between words, stripped."""
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip()
