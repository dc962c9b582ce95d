"""Conversation memory on disk: every message kept, replies added, compactions archived, all once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest

from animas_contracts import (
    AnimaCreated,
    Conversation,
    ConversationCompacted,
    ConversationTurn,
    Event,
    MemoryOpRequested,
    MessageReceived,
    ResponseOutcome,
    ResponseSent,
    Summarizer,
    TurnRole,
    WriteFile,
    conversation_archive_path,
    conversation_path,
    derive_id,
)
from animas_core.anima_files import AnimaSpec, template_files
from animas_core.config import CachedConfig
from animas_core.home import Home
from animas_memory_writer.adapters.anima_dir import AnimaDir
from animas_memory_writer.adapters.conversations import apply_conversation
from animas_memory_writer.applier import MemoryApplier
from animas_memory_writer.domain import entry_for
from animas_memory_writer.memory import conversations

AT = datetime(2026, 2, 12, 14, 30, tzinfo=UTC)
ENV: dict[str, Any] = {"anima": "tanaka", "correlation_id": "c", "producer": "test"}
PEER = "human:alice"
FILE = conversation_path(PEER)
ARCHIVE = conversation_archive_path(PEER)


def _applier(root: Path) -> MemoryApplier:
    return MemoryApplier(Home(root), CachedConfig(root / "config.json"))


def _creation() -> AnimaCreated:
    files = template_files(AnimaSpec(name="tanaka", role="engineer"), "engineer")
    return AnimaCreated(id="create", source="template:engineer", files=files, ts=AT, **ENV)


@pytest.fixture
def applier(tmp_path: Path) -> MemoryApplier:
    a = _applier(tmp_path)
    outcome = a.apply(_creation())
    assert outcome is not None and outcome.applied
    return a


def _message(n: int, text: str | None = None, sender: str = PEER) -> MessageReceived:
    return MessageReceived(
        id=f"m{n}",
        text=text or f"message {n}",
        sender=sender,
        thread_id="t",
        ts=AT + timedelta(minutes=2 * n),
        **ENV,
    )


def _reply(n: int, outcome: ResponseOutcome = ResponseOutcome.REPLY, to: str = PEER) -> ResponseSent:
    return ResponseSent(
        id=derive_id(f"m{n}", "reply"),
        text=f"reply {n}",
        in_reply_to=f"m{n}",
        to=to,
        thread_id="t",
        outcome=outcome,
        ts=AT + timedelta(minutes=2 * n + 1),
        **ENV,
    )


def _compaction(through: str, folded: int, summary: str = "we talked") -> ConversationCompacted:
    return ConversationCompacted(
        id=derive_id("tanaka", "conversation.compacted", PEER, through),
        peer=PEER,
        summary=summary,
        through_turn_id=through,
        turns_folded=folded,
        summarizer=Summarizer.LLM,
        ts=AT + timedelta(hours=1),
        **ENV,
    )


def _conversation(applier: MemoryApplier, peer: str = PEER) -> Conversation:
    data = applier.directory("tanaka").read_bytes(conversation_path(peer))
    assert data is not None
    return msgspec.json.decode(data, type=Conversation)


def _archived(applier: MemoryApplier) -> list[ConversationTurn]:
    text = applier.directory("tanaka").read_text(ARCHIVE) or ""
    return [msgspec.json.decode(line, type=ConversationTurn) for line in text.splitlines()]


def _talk(applier: MemoryApplier, exchanges: int) -> None:
    for n in range(exchanges):
        assert applier.apply(_message(n)) is None  # nothing to answer: no memory.op.* event
        assert applier.apply(_reply(n)) is None


def test_a_message_is_kept_even_when_nothing_answers_it(applier: MemoryApplier) -> None:
    applier.apply(_message(0, "Can you review the Q3 plan?"))
    assert applier.directory("tanaka").read_text(FILE) == (
        "{\n"
        '  "peer": "human:alice",\n'
        '  "summary": null,\n'
        '  "summarized_through": null,\n'
        '  "turns": [\n'
        "    {\n"
        '      "id": "m0",\n'
        '      "role": "user",\n'
        '      "text": "Can you review the Q3 plan?",\n'
        '      "ts": "2026-02-12T14:30:00Z",\n'
        '      "thread_id": "t"\n'
        "    }\n"
        "  ]\n"
        "}\n"
    )


def test_a_reply_is_added_to_the_conversation_of_the_sender(applier: MemoryApplier) -> None:
    _talk(applier, 2)
    conversation = _conversation(applier)
    assert [(t.id, t.role, t.text) for t in conversation.turns] == [
        ("m0", TurnRole.USER, "message 0"),
        (_reply(0).id, TurnRole.ASSISTANT, "reply 0"),
        ("m1", TurnRole.USER, "message 1"),
        (_reply(1).id, TurnRole.ASSISTANT, "reply 1"),
    ]


def test_error_notices_are_not_the_animas_words(applier: MemoryApplier) -> None:
    applier.apply(_message(0))
    applier.apply(_reply(0, ResponseOutcome.ERROR))
    applier.apply(_message(1))
    applier.apply(_reply(1, ResponseOutcome.CONFIGURATION_NEEDED))
    assert [t.id for t in _conversation(applier).turns] == ["m0", "m1"]


def test_each_peer_has_its_own_file(applier: MemoryApplier) -> None:
    applier.apply(_message(0, sender="bob"))
    applier.apply(_reply(0, to="bob"))
    applier.apply(_message(1, sender="Bob Smith / ../../identity.md"))
    assert [t.id for t in _conversation(applier, "bob").turns] == ["m0", _reply(0).id]
    assert [t.id for t in _conversation(applier, "Bob Smith / ../../identity.md").turns] == ["m1"]
    assert _conversation(applier, "Bob Smith / ../../identity.md").peer == "Bob Smith / ../../identity.md"
    names = sorted(p.name for p in (applier.directory("tanaka").root / "state" / "conversations").iterdir())
    assert names[0] == "bob-smith-identity-md~" + names[0].split("~")[1]
    assert names[1] == "bob.json"


def test_redelivery_does_not_duplicate_a_turn(applier: MemoryApplier, tmp_path: Path) -> None:
    _talk(applier, 1)
    applier.apply(_message(0))
    applier.apply(_reply(0))
    restarted = _applier(tmp_path)  # nothing in memory
    restarted.apply(_message(0))
    assert [t.id for t in _conversation(restarted).turns] == ["m0", _reply(0).id]


def test_a_repeat_after_its_database_record_was_lost_is_still_recognised(applier: MemoryApplier) -> None:
    applier.apply(_message(0))
    directory, db = applier.directory("tanaka"), applier.db("tanaka")
    db._conn.execute("DELETE FROM applied_ops WHERE op_id = 'm0'")  # crashed before the record
    assert apply_conversation(_message(0), directory, db) == ()
    assert [t.id for t in _conversation(applier).turns] == ["m0"]


def test_events_for_an_unknown_anima_write_nothing(tmp_path: Path) -> None:
    applier = _applier(tmp_path)
    assert applier.apply(_message(0)) is None
    assert not (tmp_path / "animas" / "tanaka").exists()


def test_a_compaction_folds_turns_into_the_summary_and_archives_them(applier: MemoryApplier) -> None:
    _talk(applier, 3)
    before = _conversation(applier).turns
    applier.apply(_compaction("m1", 3, "Alice asked for a review; I agreed."))
    after = _conversation(applier)
    assert after.summary == "Alice asked for a review; I agreed."
    assert after.summarized_through == "m1"
    assert after.turns == before[3:]  # the last turns stay verbatim
    assert _archived(applier) == list(before[:3])  # the folded ones, verbatim, nothing lost

    applier.apply(_message(3))
    applier.apply(_compaction(_reply(1).id, 2, "second summary"))
    later = _conversation(applier)
    assert (later.summary, [t.id for t in later.turns]) == ("second summary", ["m2", _reply(2).id, "m3"])
    assert _archived(applier) == list(before[:4])


def test_a_compaction_applies_once(applier: MemoryApplier, tmp_path: Path) -> None:
    _talk(applier, 3)
    event = _compaction("m1", 3)
    applier.apply(event)
    directory = applier.directory("tanaka")
    files = (directory.read_bytes(FILE), directory.read_bytes(ARCHIVE))
    applier.apply(event)
    _applier(tmp_path).apply(event)
    # A compaction planned from an older view, through a turn already folded: nothing to do.
    applier.apply(_compaction("m0", 1, "stale"))
    assert (directory.read_bytes(FILE), directory.read_bytes(ARCHIVE)) == files


def test_a_crash_between_the_archive_and_the_file_archives_each_turn_once(applier: MemoryApplier) -> None:
    _talk(applier, 2)
    turns = _conversation(applier).turns
    directory = applier.directory("tanaka")
    # The archive was appended, then the process died mid-way through a second line.
    lines = conversations.archive_line(turns[0]) + conversations.archive_line(turns[1])[:10]
    directory.write(ARCHIVE, lines)
    applier.apply(_compaction(_reply(0).id, 2))
    assert _archived(applier) == list(turns[:2])
    assert [t.id for t in _conversation(applier).turns] == ["m1", _reply(1).id]


def test_an_unreadable_file_is_set_aside_and_the_message_still_kept(applier: MemoryApplier) -> None:
    directory = applier.directory("tanaka")
    directory.write(FILE, b"{not json")
    applier.apply(_message(0))
    assert directory.read_bytes(FILE + ".unreadable") == b"{not json"
    assert [t.id for t in _conversation(applier).turns] == ["m0"]


def test_conversation_files_are_memory_writers_own(applier: MemoryApplier) -> None:
    _talk(applier, 1)
    write = MemoryOpRequested(id="w", op=WriteFile(path=FILE, content="{}"), ts=AT, **ENV)
    outcome = applier.apply(write)
    assert outcome is not None and "maintained by memory-writer" in (outcome.reason or "")
    scanned = [path for path, _ in AnimaDir(applier.directory("tanaka").root).scan()]
    assert not any(path.startswith("state/conversations/") for path in scanned)  # not a hand edit


def test_compactions_are_quiet_memory_writes_in_the_activity_log() -> None:
    event = ConversationCompacted(
        id="x",
        peer=PEER,
        summary="the whole summary",
        through_turn_id="m1",
        turns_folded=3,
        summarizer=Summarizer.FALLBACK,
        error="the model failed: timeout",
        ts=AT,
        **ENV,
    )
    entry = entry_for(event)
    assert entry is not None and entry["type"] == "memory_write"
    assert (
        entry["summary"]
        == f"conversation with {PEER}: 3 turns summarised (fallback: the model failed: timeout)"
    )
    assert entry["meta"]["through_turn_id"] == "m1" and "the whole summary" not in json.dumps(entry)


def test_replaying_the_same_events_reproduces_the_same_bytes(tmp_path: Path) -> None:
    events: list[Event] = [_creation()]
    for n in range(4):
        events += [_message(n), _reply(n)]
    events += [_message(4, sender="bob"), _compaction("m1", 3), _message(5), _compaction(_reply(2).id, 3)]

    def build(root: Path) -> dict[str, bytes]:
        applier = _applier(root)
        for event in events:
            applier.apply(event)
        applier.close()
        base = root / "animas" / "tanaka" / "state" / "conversations"
        return {p.name: p.read_bytes() for p in sorted(base.iterdir())}

    built = build(tmp_path / "one")
    assert len(built) == 3  # alice's file and archive, bob's file
    assert built == build(tmp_path / "two")
