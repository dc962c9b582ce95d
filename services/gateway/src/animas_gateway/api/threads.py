"""An anima's conversations from its stored events: each message in or out, grouped by thread.

In: every ``message.received`` on the anima's subject (from a person, another anima, a board
mention). Out: every ``response.sent`` (its answers) and every ``outbound.delivered`` message
(what it sent another anima: a question, a task, a report). An answer owed to another anima is
both a ``response.sent`` and, once outbound carries it, an ``outbound.delivered`` whose request
id is the response's id: it is counted once, as the response.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from animas_contracts import MessageReceived, OutboundDelivered, OutboundKind, ResponseSent
from animas_gateway.api.stored_reads import Stored

IN = "in"
OUT = "out"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MESSAGE_TYPES = ("message.received", "response.sent", "outbound.delivered")
"""The stored event types a conversation is made of."""


@dataclasses.dataclass(frozen=True)
class ThreadMessage:
    """One message of a conversation, as the anima saw it."""

    seq: int
    time: datetime
    direction: str
    """``in`` (to the anima) or ``out`` (from it)."""
    sender: str
    peer: str
    """The other side: the sender of a message in, the recipient of a message out."""
    text: str
    thread_id: str
    id: str
    kind: str
    """message, reply, task, report, ack, mention; ``answer`` for a response.sent."""


@dataclasses.dataclass(frozen=True)
class ThreadSummary:
    """A thread as a list shows it."""

    thread_id: str
    peer: str
    """Whom the thread's first message was with."""
    last_time: datetime
    last_seq: int
    messages: int


def conversation_messages(anima: str, stored: Iterable[Stored]) -> list[ThreadMessage]:
    """The anima's messages in and out, in stream order (other events are ignored)."""
    events = list(stored)
    answered = {s.event.id for s in events if isinstance(s.event, ResponseSent)}
    out: list[ThreadMessage] = []
    for item in events:
        event = item.event
        if event.anima != anima:
            continue
        match event:
            case MessageReceived():
                out.append(
                    ThreadMessage(
                        item.seq, event.ts, IN, event.sender, event.sender, event.text,
                        event.thread_id, event.id, event.kind.value,
                    )
                )  # fmt: skip
            case ResponseSent():
                out.append(
                    ThreadMessage(
                        item.seq, event.ts, OUT, anima, event.to, event.text,
                        event.thread_id, event.id, "answer",
                    )
                )  # fmt: skip
            case OutboundDelivered(kind=OutboundKind.MESSAGE) if event.request_id not in answered:
                out.append(
                    ThreadMessage(
                        item.seq, event.ts, OUT, anima, event.to, event.text,
                        event.thread_id or f"dm:{event.to}", event.id, event.intent.value,
                    )
                )  # fmt: skip
    return out


def thread_summaries(messages: Iterable[ThreadMessage]) -> list[ThreadSummary]:
    """One summary per thread, the most recently active first (ties: the later stored first)."""
    first: dict[str, ThreadMessage] = {}
    last: dict[str, ThreadMessage] = {}
    counts: dict[str, int] = {}
    for message in messages:
        first.setdefault(message.thread_id, message)
        last[message.thread_id] = message
        counts[message.thread_id] = counts.get(message.thread_id, 0) + 1
    summaries = [
        ThreadSummary(tid, first[tid].peer, last[tid].time, last[tid].seq, counts[tid]) for tid in first
    ]
    return sorted(summaries, key=lambda s: (s.last_time, s.last_seq), reverse=True)


def thread_cursor(summary: ThreadSummary) -> str:
    """The cursor after ``summary`` in :func:`thread_summaries`' order (URL-safe: digits and a dot)."""
    return f"{_micros(summary.last_time)}.{summary.last_seq}"


def threads_after(summaries: list[ThreadSummary], cursor: str | None) -> list[ThreadSummary]:
    """The summaries after ``cursor`` (all when None). Raises ValueError for a malformed cursor."""
    if cursor is None:
        return summaries
    micros, dot, seq = cursor.partition(".")
    if not (dot and micros.isdigit() and seq.isdigit()):
        raise ValueError(f"not a thread cursor: {cursor!r}")
    key = (int(micros), int(seq))
    return [s for s in summaries if (_micros(s.last_time), s.last_seq) < key]


def _micros(time: datetime) -> int:
    return (time - _EPOCH) // timedelta(microseconds=1)


def thread_messages(messages: Iterable[ThreadMessage], thread_id: str) -> list[ThreadMessage]:
    """The messages of one thread, oldest first."""
    return [m for m in messages if m.thread_id == thread_id]
