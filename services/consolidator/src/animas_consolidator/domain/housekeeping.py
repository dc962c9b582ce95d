"""Retention rules (#13 item 8): which saved sessions go, and which conversation turns are too old.

Pure functions of file names, archive lines and the run's day (never the wall clock), so a test
moved a year or a replay decides the same. What they pick is carried out as memory operations,
each an event a rebuild applies again.

- *Saved sessions* (``shortterm/archive/<YYYYMMDD>-<cycle>-<chain>.md``, written when a long
  cycle chains): the newest ``keep`` are kept, by the day in the name and then the name. A file
  whose name carries no day (put there by hand) is never deleted and not counted: retention
  removes only what it can date.
- *Conversation archives* (``state/conversations/<peer>.archive.jsonl``): turns said before the
  start of the day ``days`` before the run's day, in the anima's zone, are dropped; 0 keeps all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import msgspec

from animas_contracts import ConversationTurn

SAVED_SESSIONS = "shortterm/archive/"
CONVERSATIONS = "state/conversations/"
CONVERSATION_ARCHIVE = ".archive.jsonl"
_DAY_PREFIX = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})")
_turn = msgspec.json.Decoder(ConversationTurn)


def saved_session_day(name: str) -> date | None:
    """The day a saved session's name starts with (``20260105-…`` or ``2026-01-05-…``), or None."""
    match = _DAY_PREFIX.match(name)
    if match is None or not name.endswith(".md"):
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def saved_sessions_past_keeping(names: Iterable[str], keep: int) -> list[str]:
    """The saved sessions beyond the newest ``keep`` (names inside ``shortterm/archive/``), oldest first."""
    dated = sorted(
        ((day, name) for name in set(names) if (day := saved_session_day(name)) is not None),
        reverse=True,
    )
    return sorted(name for _, name in dated[keep:])


def conversation_cutoff(day: date, zone: ZoneInfo, days: int) -> datetime | None:
    """The moment before which archived turns are dropped (UTC), or None when they are kept for good."""
    if days <= 0:
        return None
    start = datetime.combine(day - timedelta(days=days), time(0), tzinfo=zone)
    return start.astimezone(ZoneInfo("UTC"))


def is_conversation_archive(name: str) -> bool:
    """Whether a file of ``state/conversations/`` is a peer's archive of folded turns."""
    return name.endswith(CONVERSATION_ARCHIVE) and "/" not in name


def turns_before(text: str, before: datetime) -> int:
    """How many archived turns were said before ``before`` (lines that are not turns do not count)."""
    count = 0
    for line in text.splitlines():
        try:
            turn = _turn.decode(line)
        except msgspec.DecodeError:
            continue
        said = turn.ts if turn.ts.tzinfo is not None else turn.ts.replace(tzinfo=ZoneInfo("UTC"))
        if said < before:
            count += 1
    return count
