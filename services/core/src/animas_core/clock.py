"""The one way domain code asks what time it is, so tests and replays can say otherwise.

Code that reads the time takes a :data:`Clock` (default :func:`system_clock`) instead of calling
``datetime.now`` itself: a test pins it, the year-ahead CI run moves it, and nothing compares
an injected time with the wall clock by accident.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
"""Returns the current time as an aware datetime."""


def system_clock() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(UTC)
