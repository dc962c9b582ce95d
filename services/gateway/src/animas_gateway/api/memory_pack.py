"""Seed 002's pure parts: names for other applications' animas, their events, and the memory pack.

Nothing here does I/O: the routes (:mod:`animas_gateway.api.memory_service`) gather identity,
the session's entries, knowledge and long-term memories, then :func:`build_pack` trims them to
the caller's token budget with a measured token count.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import Meta

from animas_contracts import derive_id

EXTERNAL_PREFIX = "ext-"
MAX_EVENTS = 100
"""Events in one request; send more in batches."""
MAX_CONTENT_CHARS = 8000
_SLUG_CHARS = 47
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_KIND = r"^[a-z][a-z0-9_.-]*$"
_EXTERNAL_NAMESPACE = "7d4f8838-seed-002"

ExternalId = Annotated[
    str, Meta(min_length=1, max_length=200, description="The application's id for this memory space.")
]
ShortText = Annotated[str, Meta(min_length=1, max_length=128)]
SessionId = Annotated[
    str,
    Meta(
        min_length=1, max_length=128, pattern=r"^\S+$", description="The application's session (no spaces)."
    ),
]


def external_anima_name(external_id: str) -> str:
    """The anima bound to ``external_id``: ``ext-<slug>-<hash8>``, the same for the same id.

    The slug keeps the id readable in listings; the hash keeps two ids that slug alike apart.
    """
    digest = hashlib.sha256(external_id.encode()).hexdigest()[:8]
    slug = _NOT_SLUG.sub("-", external_id.lower()).strip("-")[:_SLUG_CHARS].strip("-")
    return f"{EXTERNAL_PREFIX}{slug}-{digest}" if slug else f"{EXTERNAL_PREFIX}{digest}"


def creation_id(external_id: str) -> str:
    """The id of the event that creates the anima for ``external_id`` (a repeat is the same event)."""
    return derive_id(_EXTERNAL_NAMESPACE, "anima", external_id)


def extracted_id(anima: str, client_id: str | None, fresh: Callable[[], str]) -> str:
    """An extracted event's id: derived from the application's own id when it sent one."""
    return derive_id(_EXTERNAL_NAMESPACE, "event", anima, client_id) if client_id else fresh()


class ExternalAnimaRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /api/memory/animas``: the application's id, and a display name for a new anima."""

    external_id: ExternalId
    name: Annotated[str, Meta(max_length=128, description="A display name (kept in identity.md).")] | None = (
        None
    )


class ExternalAnima(msgspec.Struct, frozen=True, kw_only=True):
    """The anima bound to an external id."""

    anima: str
    external_id: str
    created: Annotated[bool, Meta(description="False when it existed already.")]


class ExtractedEvent(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One thing to remember, as the application saw it."""

    type: Annotated[str, Meta(max_length=64, pattern=_KIND, description="message_in, message_out, fact…")]
    content: Annotated[str, Meta(min_length=1, max_length=MAX_CONTENT_CHARS)]
    session_id: SessionId | None = None
    author: ShortText | None = None
    time: Annotated[
        datetime | None, Meta(description="When it happened, with its offset (default: now).")
    ] = None
    id: Annotated[
        ShortText | None, Meta(description="The application's id for it: a repeat is stored once.")
    ] = None


class ExtractedEvents(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /api/memory/{anima}/events``."""

    events: Annotated[list[ExtractedEvent], Meta(min_length=1, max_length=MAX_EVENTS)]


class ExtractedAccepted(msgspec.Struct, frozen=True, kw_only=True):
    """The events were stored; memory-writer applies them in order."""

    accepted: int
    event_ids: list[str]


class PackedMemory(msgspec.Struct, frozen=True, kw_only=True):
    """One memory in a pack: where it is, its heading, its day and its text."""

    path: str
    heading: str
    text: str
    date: str | None = None
    score: float | None = None


class PackTemporal(msgspec.Struct, frozen=True, kw_only=True):
    """The present, as the anima lives it."""

    now: Annotated[str, Meta(description="ISO 8601, in the anima's time zone.")]
    time_zone: str
    date: str
    weekday: str


class MemoryPack(msgspec.Struct, frozen=True, kw_only=True):
    """What to put in a prompt about this anima, within ``max_tokens``."""

    identity: str
    session: list[PackedMemory]
    knowledge: list[PackedMemory]
    long_term: list[PackedMemory]
    temporal: PackTemporal
    tokens: Annotated[int, Meta(description="Tokens of everything above (cl100k_base).")]


def temporal(now: datetime) -> PackTemporal:
    """``now`` (aware, in the anima's zone) as a pack says it."""
    zone = getattr(now.tzinfo, "key", None) or now.strftime("%z")
    return PackTemporal(
        now=now.isoformat(timespec="seconds"),
        time_zone=str(zone),
        date=now.date().isoformat(),
        weekday=now.strftime("%A"),
    )


def session_marker(session_id: str) -> str:
    """What an extracted event's episode entry says of its session (see memory-writer's ops)."""
    return f"(session {session_id})"


def session_entries(days: Mapping[str, str], session_id: str) -> list[PackedMemory]:
    """The entries of ``session_id`` in these day files, oldest first."""
    marker = session_marker(session_id)
    found: list[PackedMemory] = []
    for path in sorted(days):
        for block in days[path].split("\n## ")[1:]:
            heading, _, body = block.partition("\n")
            if any(line.startswith("- Trigger:") and line.endswith(marker) for line in body.splitlines()):
                found.append(
                    PackedMemory(path=path, heading=heading.strip(), text=body.strip(), date=path[-13:-3])
                )
    return found


def build_pack(
    *,
    identity: str,
    session: Sequence[PackedMemory],
    knowledge: Sequence[PackedMemory],
    long_term: Sequence[PackedMemory],
    now: PackTemporal,
    max_tokens: int,
    count: Callable[[str], int],
    truncate: Callable[[str, int], str],
) -> MemoryPack:
    """The pack within ``max_tokens``, every part measured with ``count``.

    The present always comes; identity takes at most a quarter of the budget (cut at a token
    boundary); of what is left, the session's newest entries take up to 30%, knowledge up to
    30%, and long-term memories the rest (best first), then whatever the others left unused.
    An item that does not fit whole is left out, so nothing but identity is ever cut.
    """
    left = max_tokens - count(msgspec.json.encode(now).decode())
    kept_identity = truncate(identity, min(max(left, 0), max_tokens // 4))
    left -= count(kept_identity)
    share = max(left, 0) * 3 // 10
    newest_first, left = _fill(list(reversed(session)), share, left, count)
    kept_knowledge, left = _fill(list(knowledge), share, left, count)
    kept_long, left = _fill(list(long_term), left, left, count)
    return MemoryPack(
        identity=kept_identity,
        session=list(reversed(newest_first)),
        knowledge=kept_knowledge,
        long_term=kept_long,
        temporal=now,
        tokens=max_tokens - left,
    )


def _fill(
    items: list[PackedMemory], cap: int, left: int, count: Callable[[str], int]
) -> tuple[list[PackedMemory], int]:
    """Items in order while they fit within ``cap`` (and what is ``left``); the budget left after."""
    kept: list[PackedMemory] = []
    used = 0
    for item in items:
        cost = count(f"{item.heading}\n{item.text}")
        if used + cost <= min(cap, left):
            kept.append(item)
            used += cost
    return kept, left - used
