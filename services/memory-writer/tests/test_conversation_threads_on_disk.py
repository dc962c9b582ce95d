"""Conversation memory per thread on disk: turns keep their thread, a compaction folds only its own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from animas_contracts import (
    Conversation,
    ConversationCompacted,
    MessageReceived,
    ResponseSent,
    Summarizer,
    derive_id,
)
from animas_memory_writer.memory import conversations

AT = datetime(2026, 2, 12, 14, 30, tzinfo=UTC)
ENV: dict[str, Any] = {"anima": "tanaka", "correlation_id": "c", "producer": "test"}
PEER = "human:alice"

LEGACY_FILE = b"""{
  "peer": "human:alice",
  "summary": null,
  "summarized_through": null,
  "turns": [
    {"id": "old-1", "role": "user", "text": "My favourite colour is teal.", "ts": "2026-02-12T14:30:00Z"},
    {"id": "old-2", "role": "assistant", "text": "Noted.", "ts": "2026-02-12T14:31:00Z"}
  ]
}
"""
"""A file written before turns carried their thread (pinned: it must keep loading)."""


def _message(n: int, thread: str) -> MessageReceived:
    return MessageReceived(
        id=f"m{n}", text=f"message {n}", sender=PEER, thread_id=thread, ts=AT + timedelta(minutes=n), **ENV
    )


def _reply(n: int, thread: str) -> ResponseSent:
    return ResponseSent(
        id=f"r{n}",
        text=f"reply {n}",
        in_reply_to=f"m{n}",
        to=PEER,
        thread_id=thread,
        ts=AT + timedelta(minutes=n, seconds=30),
        **ENV,
    )


def _compaction(through: str, thread: str | None) -> ConversationCompacted:
    return ConversationCompacted(
        id=derive_id("tanaka", "conversation.compacted", PEER, through),
        peer=PEER,
        summary="we talked",
        through_turn_id=through,
        turns_folded=2,
        summarizer=Summarizer.LLM,
        thread_id=thread,
        ts=AT + timedelta(hours=1),
        **ENV,
    )


def _build(*events: MessageReceived | ResponseSent, start: Conversation | None = None) -> Conversation:
    conversation = start or Conversation(peer=PEER)
    for event in events:
        turn = conversations.turn_of(event)
        assert turn is not None
        conversation = conversations.with_turn(conversation, turn) or conversation
    return conversation


def test_every_turn_keeps_the_thread_it_was_said_in() -> None:
    conversation = _build(_message(0, "a"), _message(1, "b"), _reply(0, "a"))
    assert [(t.id, t.thread_id) for t in conversation.turns] == [("m0", "a"), ("m1", "b"), ("r0", "a")]
    assert [t.id for t in conversation.thread("a")] == ["m0", "r0"]


def test_a_compaction_folds_its_threads_turns_and_leaves_the_other_thread_verbatim() -> None:
    conversation = _build(
        _message(0, "a"), _message(1, "b"), _reply(0, "a"), _reply(1, "b"), _message(2, "a")
    )
    change = conversations.compacted(conversation, _compaction("r0", "a"))
    assert change is not None
    after, folded = change
    assert [t.id for t in folded] == ["m0", "r0"]
    assert [t.id for t in after.turns] == ["m1", "r1", "m2"]
    assert after.summary == "we talked"  # the peer's summary, shared by every thread
    assert conversations.compacted(after, _compaction("r0", "a")) is None  # a repeat does nothing


def test_a_compaction_of_no_thread_folds_everything_through_its_turn_as_before() -> None:
    conversation = _build(_message(0, "a"), _message(1, "b"), _reply(0, "a"))
    change = conversations.compacted(conversation, _compaction("r0", None))
    assert change is not None
    assert [t.id for t in change[1]] == ["m0", "m1", "r0"] and change[0].turns == ()


def test_a_file_from_before_threads_loads_and_its_turns_fold_with_the_first_compaction() -> None:
    legacy = conversations.decode(LEGACY_FILE)
    assert [t.thread_id for t in legacy.turns] == [None, None]
    conversation = _build(_message(5, "a"), _reply(5, "a"), _message(6, "b"), start=legacy)
    assert [t.id for t in conversation.thread("a")] == ["old-1", "old-2", "m5", "r5"]
    change = conversations.compacted(conversation, _compaction("r5", "a"))
    assert change is not None
    assert [t.id for t in change[1]] == ["old-1", "old-2", "m5", "r5"]
    assert [t.id for t in change[0].turns] == ["m6"]
    # Re-encoded, the file is the new format and decodes again.
    assert conversations.decode(conversations.encode(change[0])) == change[0]
