"""Conversation memory (seed 003 §4.8): the rolling history an anima keeps with each peer.

memory-writer projects it per anima and peer into ``state/conversations/<stem>.json`` (a
:class:`Conversation`): a user turn when it applies ``message.received``, an assistant turn when it
applies a ``response.sent`` reply. When the history outgrows its share of the context window,
agent-runner folds the older turns into a rolling summary and records that as
:class:`ConversationCompacted`; memory-writer then moves the folded turns, verbatim, to
``state/conversations/<stem>.archive.jsonl``, so nothing said is ever lost.

Memory is per thread within a peer: every turn carries the thread it was said in, and a message
sees only its own thread's turns after the peer's summary, which all threads share (a compaction
in one thread folds that thread's turns into it). Turns of a file written before threads were
kept have no thread: every thread sees them until the first compaction folds them.

Peers are arbitrary sender names (``human``, ``human:alice``, ``Alice Smith``, ``田中``), so the
file stem is derived from the name: a name that is already a safe lowercase token is used as it
is, any other becomes a readable slug plus a hash of the exact name (see :func:`peer_stem`).
"""

from __future__ import annotations

import enum
import hashlib
import re
import unicodedata
from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import Meta

from animas_contracts.envelope import Event
from animas_contracts.names import ANIMA_NAME_MAX_LENGTH, ANIMA_NAME_PATTERN

CONVERSATIONS_DIR = "state/conversations/"
"""Where an anima's conversation files live, relative to its directory."""

_VERBATIM = re.compile(ANIMA_NAME_PATTERN)
_SLUG_CHARS = re.compile(r"[^a-z0-9]+")
_SLUG_MAX = 40
_HASH_CHARS = 16
# Device names Windows refuses as file names, whatever the extension.
_RESERVED = frozenset(
    {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}
)


class TurnRole(enum.StrEnum):
    """Who spoke a turn."""

    USER = "user"
    """The peer (a person, another anima or an external system)."""
    ASSISTANT = "assistant"
    """The anima itself."""


class ConversationTurn(msgspec.Struct, frozen=True, kw_only=True):
    """One message of a conversation, kept verbatim."""

    id: Annotated[
        str, Meta(description="Id of the event it came from: the message.received or response.sent.")
    ]
    role: Annotated[TurnRole, Meta(description="user (the peer) or assistant (the anima).")]
    text: Annotated[str, Meta(description="What was said, verbatim.")]
    ts: Annotated[datetime, Meta(description="When it was said (the event's time, UTC).")]
    thread_id: Annotated[
        str | None,
        Meta(description="The thread it was said in; null in files written before threads were kept."),
    ] = None


class Conversation(msgspec.Struct, frozen=True, kw_only=True):
    """The file ``state/conversations/<stem>.json``: one anima's rolling history with one peer.

    ``summary`` is the peer's, shared by every thread; ``turns`` holds the verbatim turns of all
    threads in the order they were said (see :meth:`thread`).
    """

    peer: Annotated[str, Meta(description="The peer's name exactly as messages carry it.")]
    summary: Annotated[
        str | None, Meta(description="Rolling summary of every turn folded so far; null before the first.")
    ] = None
    summarized_through: Annotated[
        str | None, Meta(description="Id of the last turn folded into the summary; null before the first.")
    ] = None
    turns: Annotated[
        tuple[ConversationTurn, ...], Meta(description="The turns after the summary, oldest first, verbatim.")
    ] = ()

    def thread(self, thread_id: str | None) -> tuple[ConversationTurn, ...]:
        """The turns a message of ``thread_id`` sees: that thread's and those of no thread, in order.

        ``None`` (a caller that knows no thread) sees every turn, as before threads were kept.
        """
        if thread_id is None:
            return self.turns
        return tuple(t for t in self.turns if t.thread_id in (thread_id, None))


class Summarizer(enum.StrEnum):
    """What wrote a conversation summary."""

    LLM = "llm"
    """The anima's model."""
    FALLBACK = "fallback"
    """The deterministic fallback (the model failed or its answer was unusable)."""


class ConversationCompacted(Event, frozen=True, kw_only=True, tag="conversation.compacted"):
    """Older turns of a conversation were folded into its rolling summary.

    Its id is derived from the anima, the peer and ``through_turn_id``, so a retried cycle does not
    compact twice. memory-writer applies it only while ``through_turn_id`` is still a verbatim turn,
    and archives the folded turns before dropping them from the conversation file.
    """

    peer: Annotated[str, Meta(description="The peer whose conversation was compacted.")]
    summary: Annotated[
        str, Meta(description="The new rolling summary; it already merges the previous summary.")
    ]
    through_turn_id: Annotated[str, Meta(description="Id of the last turn folded into the summary.")]
    turns_folded: Annotated[int, Meta(description="How many turns this compaction folded.")]
    summarizer: Annotated[Summarizer, Meta(description="llm, or fallback when the model failed.")]
    error: Annotated[
        str | None, Meta(description="Why the model's summary was not used, when the fallback wrote it.")
    ] = None
    thread_id: Annotated[
        str | None,
        Meta(
            description="The thread whose turns were folded (turns of no thread fold with it); "
            "null: every turn through through_turn_id, as before threads were kept."
        ),
    ] = None


def peer_stem(peer: str) -> str:
    """A file-name stem for ``peer`` that is safe on every file system and never shared by two peers.

    A name that is already a safe token (an anima name: lowercase ASCII letters, digits, ``_``, ``-``,
    at most 64 characters, not a reserved device name) is used unchanged. Anything else becomes a
    lowercase ASCII slug of the name, ``~``, and 16 hex digits of the name's sha256: ``Alice`` →
    ``alice~3bc5…``, ``../etc`` → ``etc~…``. Unchanged names never contain ``~``, so the two forms
    cannot collide, and the hash keeps names that differ only in case or punctuation apart.

    Raises:
        ValueError: ``peer`` is empty.
    """
    if not peer:
        raise ValueError("a conversation peer needs a non-empty name")
    if len(peer) <= ANIMA_NAME_MAX_LENGTH and _VERBATIM.fullmatch(peer) and peer not in _RESERVED:
        return peer
    ascii_name = unicodedata.normalize("NFKD", peer).encode("ascii", "ignore").decode().lower()
    slug = _SLUG_CHARS.sub("-", ascii_name).strip("-")[:_SLUG_MAX].rstrip("-") or "peer"
    return f"{slug}~{hashlib.sha256(peer.encode()).hexdigest()[:_HASH_CHARS]}"


def conversation_path(peer: str) -> str:
    """The conversation file of ``peer``, relative to the anima's directory."""
    return f"{CONVERSATIONS_DIR}{peer_stem(peer)}.json"


def conversation_archive_path(peer: str) -> str:
    """The archive of ``peer``'s folded turns (one JSON turn per line), relative to the anima's directory."""
    return f"{CONVERSATIONS_DIR}{peer_stem(peer)}.archive.jsonl"
