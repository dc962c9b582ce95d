"""Conversation memory per thread: a thread sees its own turns after the peer's shared summary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec

from animas_agent_runner.cycle.conversation import (
    decode_conversation,
    history_for,
    prepare_history,
    render_history,
    summary_line,
)
from animas_agent_runner.ports import UserTurn
from animas_contracts import Conversation, ConversationTurn, TurnRole

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
PEER = "human:alice"

LEGACY_FILE = """{
  "peer": "human:alice",
  "summary": "Alice likes short answers.",
  "summarized_through": "old-1",
  "turns": [
    {"id": "old-2", "role": "user", "text": "What did we plan?", "ts": "2026-02-12T14:30:00Z"},
    {"id": "old-3", "role": "assistant", "text": "The Q3 review.", "ts": "2026-02-12T14:31:00Z"}
  ]
}
"""
"""A conversation file written before turns carried their thread (pinned: it must keep loading)."""


def _turn(index: int, thread: str | None, words: int = 20) -> ConversationTurn:
    return ConversationTurn(
        id=f"{thread}-{index:03d}",
        role=TurnRole.USER if index % 2 == 0 else TurnRole.ASSISTANT,
        text=f"{thread} turn {index}: " + " ".join(f"w{w}" for w in range(words)),
        ts=T0 + timedelta(minutes=index),
        thread_id=thread,
    )


def _two_threads(summary: str | None = None) -> Conversation:
    one = [_turn(i, "one") for i in range(4)]
    two = [_turn(i, "two") for i in range(2)]
    # Interleaved in time, as two open chats would be.
    return Conversation(peer=PEER, summary=summary, turns=(one[0], two[0], one[1], two[1], one[2], one[3]))


async def _never(system: str, user: str) -> str:
    raise AssertionError("no summary expected")


def test_a_thread_sees_only_its_own_turns() -> None:
    conversation = _two_threads()
    assert [t.id for t in history_for(conversation, "x", "one")] == [f"one-{i:03d}" for i in range(4)]
    assert [t.id for t in history_for(conversation, "two-001", "two")] == ["two-000"]
    assert history_for(conversation, "x", "three") == ()
    # A caller that knows no thread sees everything, as before threads were kept.
    assert history_for(conversation, "x") == conversation.turns


async def test_a_new_thread_starts_with_the_peers_summary_and_none_of_the_other_threads_turns() -> None:
    conversation = _two_threads(summary="Alice's favourite colour is teal.")
    prepared = await prepare_history(
        conversation,
        anima="sample",
        message_id="m-new",
        current="[human:alice] hello again",
        window=100_000,
        threshold=0.3,
        say=_never,
        correlation_id="c",
        causation_id=None,
        thread_id="three",
    )
    assert prepared.compaction is None
    summary = summary_line("Alice's favourite colour is teal.")
    assert prepared.items == (UserTurn(f"{summary}\n\n[human:alice] hello again"),)
    assert not any("one turn" in i.text or "two turn" in i.text for i in prepared.items)


async def test_a_compaction_folds_the_threads_turns_and_says_which_thread() -> None:
    one = tuple(_turn(i, "one", words=60) for i in range(12))
    other = _turn(0, "two", words=60)
    conversation = Conversation(peer=PEER, summary="Earlier.", turns=(*one[:6], other, *one[6:]))
    prepared = await prepare_history(
        conversation,
        anima="sample",
        message_id="m-now",
        current="[human:alice] and now?",
        window=2000,
        threshold=0.3,
        say=_never_json,
        correlation_id="c",
        causation_id=None,
        thread_id="one",
    )
    event = prepared.compaction
    assert event is not None and event.thread_id == "one"
    assert event.through_turn_id.startswith("one-")
    assert all("two turn" not in item.text for item in prepared.items)


async def _never_json(system: str, user: str) -> str:
    assert "two turn" not in user  # another thread's words never reach its summary
    return msgspec.json.encode({"summary": "Alice and I talked in thread one."}).decode()


def test_a_file_from_before_threads_still_loads_and_every_thread_sees_its_turns() -> None:
    conversation = decode_conversation(LEGACY_FILE, PEER)
    assert conversation.summary == "Alice likes short answers."
    assert [t.thread_id for t in conversation.turns] == [None, None]
    # Until a compaction folds them, the old turns are part of whichever thread continues.
    turns = history_for(conversation, "m-now", "any-thread")
    assert [t.id for t in turns] == ["old-2", "old-3"]
    items = render_history(conversation.summary, turns, peer=PEER, current="[human:alice] hi")
    assert "The Q3 review." in items[1].text
