"""Conversation memory (seed 003 §4.8): how each event changes one peer's conversation file.

Each turn keeps the thread it was said in; a compaction folds only its thread's turns.

Pure functions of the file's current content and the event; the adapter reads and writes the
files. A turn is identified by the id of the event it came from, so applying an event twice
changes nothing the second time.
"""

from __future__ import annotations

import msgspec

from animas_contracts import (
    Conversation,
    ConversationCompacted,
    ConversationTurn,
    MessageReceived,
    ResponseOutcome,
    ResponseSent,
    TurnRole,
)

_decoder = msgspec.json.Decoder(Conversation)
_turn_decoder = msgspec.json.Decoder(ConversationTurn)


def peer_of(event: MessageReceived | ResponseSent | ConversationCompacted) -> str:
    """The other side of the conversation an event belongs to."""
    match event:
        case MessageReceived():
            return event.sender
        case ResponseSent():
            return event.to
        case ConversationCompacted():
            return event.peer


def turn_of(event: MessageReceived | ResponseSent) -> ConversationTurn | None:
    """The turn an event adds, or None when it adds none.

    Every message is kept, whatever happens to its cycle. Of the responses only real replies are:
    a configuration hint or an error notice is the framework speaking, not the anima, and leaving
    it out puts the unanswered message right before the next one in the history.
    """
    if isinstance(event, MessageReceived):
        return ConversationTurn(
            id=event.id, role=TurnRole.USER, text=event.text, ts=event.ts, thread_id=event.thread_id
        )
    if event.outcome is not ResponseOutcome.REPLY:
        return None
    return ConversationTurn(
        id=event.id, role=TurnRole.ASSISTANT, text=event.text, ts=event.ts, thread_id=event.thread_id
    )


def with_turn(conversation: Conversation, turn: ConversationTurn) -> Conversation | None:
    """The conversation with ``turn`` appended, or None when it is already there."""
    if any(t.id == turn.id for t in conversation.turns):
        return None
    return msgspec.structs.replace(conversation, turns=(*conversation.turns, turn))


def compacted(
    conversation: Conversation, event: ConversationCompacted
) -> tuple[Conversation, tuple[ConversationTurn, ...]] | None:
    """The conversation after the compaction and the turns it folded, or None when there is nothing to do.

    Nothing is done unless ``through_turn_id`` is still a verbatim turn: a repeat has already
    dropped it, and a compaction planned from an older view whose turns a later one folded has
    nothing left to fold. The event's summary covers everything up to that turn (each summary
    merges the previous one), so it replaces the stored summary.

    Only the turns the compacting thread saw are folded (its own and those of no thread, see
    :meth:`Conversation.thread`); other threads keep theirs verbatim. A compaction of no thread
    (recorded before threads were kept) folds every turn through ``through_turn_id``.
    """
    ids = [t.id for t in conversation.turns]
    if event.through_turn_id not in ids:
        return None
    cut = ids.index(event.through_turn_id) + 1
    seen = {t.id for t in conversation.thread(event.thread_id)}
    folded = tuple(t for t in conversation.turns[:cut] if t.id in seen)
    kept = tuple(t for t in conversation.turns if t.id not in {f.id for f in folded})
    after = Conversation(
        peer=conversation.peer,
        summary=event.summary,
        summarized_through=event.through_turn_id,
        turns=kept,
    )
    return after, folded


def encode(conversation: Conversation) -> bytes:
    """The file's bytes: indented JSON in field order, so a rebuild writes the same bytes."""
    return msgspec.json.format(msgspec.json.encode(conversation), indent=2) + b"\n"


def decode(data: bytes) -> Conversation:
    """A conversation file's content (raises :class:`msgspec.DecodeError` when it is not one)."""
    return _decoder.decode(data)


def archive_line(turn: ConversationTurn) -> bytes:
    """One line of the archive: the turn as compact JSON."""
    return msgspec.json.encode(turn) + b"\n"


def archive_ids(data: bytes) -> set[str]:
    """The ids of the turns an archive holds (lines that do not decode are skipped)."""
    ids: set[str] = set()
    for line in data.splitlines():
        try:
            ids.add(_turn_decoder.decode(line).id)
        except msgspec.DecodeError:
            continue
    return ids
