"""What the API answers, as frozen dataclasses (built from the JSON, unknown fields ignored)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any


@dataclasses.dataclass(frozen=True)
class Event:
    """One thing for an anima to remember (``POST /api/memory/{anima}/events``).

    ``time`` is when it happened (with its offset; the server's now when omitted), ``id`` the
    application's own id for it: sending the same id again stores it once.
    """

    type: str
    content: str
    session_id: str | None = None
    author: str | None = None
    time: datetime | None = None
    id: str | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.type, "content": self.content}
        for key in ("session_id", "author", "id"):
            if getattr(self, key) is not None:
                body[key] = getattr(self, key)
        if self.time is not None:
            body["time"] = self.time.isoformat()
        return body


@dataclasses.dataclass(frozen=True)
class AnimaRef:
    """The anima bound to an external id."""

    anima: str
    external_id: str
    created: bool


@dataclasses.dataclass(frozen=True)
class Accepted:
    """Events stored (memory-writer applies them in order, then they can be searched)."""

    accepted: int
    event_ids: list[str]


@dataclasses.dataclass(frozen=True)
class PackItem:
    """One memory in a pack."""

    path: str
    heading: str
    text: str
    date: str | None = None
    score: float | None = None


@dataclasses.dataclass(frozen=True)
class Temporal:
    """The present, in the anima's time zone."""

    now: str
    time_zone: str
    date: str
    weekday: str


@dataclasses.dataclass(frozen=True)
class Pack:
    """A memory pack: what to put in a prompt about this anima, within the token budget asked."""

    identity: str
    session: list[PackItem]
    knowledge: list[PackItem]
    long_term: list[PackItem]
    temporal: Temporal
    tokens: int

    def text(self) -> str:
        """The pack as one Markdown block for a system prompt."""
        parts = [f"Now: {self.temporal.now} ({self.temporal.weekday}, {self.temporal.time_zone})"]
        if self.identity.strip():
            parts.append(self.identity.strip())
        for title, items in (
            ("This session", self.session),
            ("Knowledge", self.knowledge),
            ("Memories", self.long_term),
        ):
            if items:
                parts.append(f"## {title}\n" + "\n".join(f"- {i.heading}: {i.text}" for i in items))
        return "\n\n".join(parts)


@dataclasses.dataclass(frozen=True)
class SearchHit:
    """One search hit."""

    path: str
    heading: str
    text: str
    score: float
    memory_type: str
    date: str | None = None


@dataclasses.dataclass(frozen=True)
class Entry:
    """A file or folder of an anima's directory."""

    path: str
    kind: str


@dataclasses.dataclass(frozen=True)
class FileText:
    """A file's text."""

    path: str
    text: str
    truncated: bool = False


@dataclasses.dataclass(frozen=True)
class Change:
    """memory-writer's verdict: ``applied`` (with the files written) or ``accepted`` (not yet)."""

    status: str
    op_id: str
    paths: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class ChatReply:
    """An anima's reply; ``reply`` is None when the answer was not ready in time (202)."""

    message_id: str
    correlation_id: str
    thread_id: str | None
    reply: str | None = None
    outcome: str | None = None
    status: str | None = None


def build(kind: type[Any], data: dict[str, Any]) -> Any:
    """``kind`` from a JSON object, nested items included, unknown fields left out."""
    names = {f.name for f in dataclasses.fields(kind)}
    values = {k: v for k, v in data.items() if k in names}
    if kind is Pack:
        for key in ("session", "knowledge", "long_term"):
            values[key] = [build(PackItem, item) for item in values.get(key, [])]
        values["temporal"] = build(Temporal, values["temporal"])
    return kind(**values)
