"""What a day of experience is made of: numbered source lines that decisions must cite.

Every line has a reference a decision can cite: ``episodes/2026-12-06.md:12`` (a line of the
day's episode file), ``shortterm/archive/<file>.md:3`` (a line of a chained session's saved
state) or ``state/conversations/<peer>.json#<turn id>`` (one turn of a conversation, said that
day); a task resolved that day is ``tasks/<task id>`` (see :mod:`.task_sources`). A citation
is checked against exactly these lines, so a decision cannot rest on something
the anima never experienced.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import msgspec

from animas_contracts import Conversation, TurnRole

EPISODES = "episodes/"
SHORTTERM_ARCHIVE = "shortterm/archive/"
CONVERSATIONS = "state/conversations/"


class SourceKind(enum.StrEnum):
    """Where a source line comes from."""

    EPISODE = "episode"
    SHORTTERM = "shortterm"
    CONVERSATION = "conversation"
    TASK = "task"
    """A task of the task store resolved (done or failed) that day: ``tasks/<task id>``."""


@dataclasses.dataclass(frozen=True)
class SourceLine:
    """One citable line of the day."""

    ref: str
    text: str
    kind: SourceKind
    from_peer: bool = False
    """A conversation turn said by the other side (a person or anima correcting this one)."""


def day_window(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC start (inclusive) and end (exclusive) of ``day`` in ``zone``."""
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def scheduled_day(fire_at: datetime, zone: ZoneInfo) -> date:
    """The day a scheduled daily run consolidates: the last whole local day before it fires."""
    return fire_at.astimezone(zone).date() - timedelta(days=1)


def episode_path(day: date) -> str:
    """The episode file of ``day``."""
    return f"{EPISODES}{day.isoformat()}.md"


def file_lines(path: str, text: str, kind: SourceKind) -> list[SourceLine]:
    """The non-empty lines of a Markdown file, numbered from 1; headings carry no lesson and are left out."""
    lines = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            lines.append(SourceLine(ref=f"{path}:{number}", text=stripped, kind=kind))
    return lines


def is_archive_of(name: str, day: date) -> bool:
    """Whether a file of ``shortterm/archive/`` was saved on ``day`` (its name starts with the date).

    agent-runner names a saved session ``<YYYYMMDD>-<cycle>-<chain>.md``; a name starting with the
    ISO date (``YYYY-MM-DD``) counts too.
    """
    return name.startswith((day.strftime("%Y%m%d"), day.isoformat())) and name.endswith(".md")


class UnreadableConversation(ValueError):
    """A conversation file that is not a conversation (reported, the rest of the day still counts)."""


def conversation_lines(path: str, content: str, start: datetime, end: datetime) -> list[SourceLine]:
    """The turns of a conversation file said between ``start`` and ``end``, one source line each.

    Raises:
        UnreadableConversation: The file does not decode as a conversation.
    """
    try:
        conversation = msgspec.json.decode(content, type=Conversation)
    except msgspec.DecodeError as exc:
        raise UnreadableConversation(f"{path}: {exc}") from None
    return [
        SourceLine(
            ref=f"{path}#{turn.id}",
            text=" ".join(turn.text.split()),
            kind=SourceKind.CONVERSATION,
            from_peer=turn.role is TurnRole.USER,
        )
        for turn in conversation.turns
        if start <= turn.ts < end and turn.text.strip()
    ]


def by_ref(lines: Iterable[SourceLine]) -> dict[str, SourceLine]:
    """The lines keyed by their reference."""
    return {line.ref: line for line in lines}
