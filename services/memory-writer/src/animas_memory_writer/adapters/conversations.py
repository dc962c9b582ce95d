"""The conversation files: ``state/conversations/<peer>.json`` and its ``.archive.jsonl``.

Each event is applied once: its id is recorded in the anima's database after the files are
written, and the files themselves recognise a repeat (a turn already there, a compaction whose
last turn is gone, archived turns already in the archive), so a crash anywhere in between only
leads to a redelivery that finishes the job. The archive is written before the conversation
file drops the folded turns, so no turn is ever only in memory.
"""

from __future__ import annotations

import logging
import os

import msgspec

from animas_contracts import (
    Conversation,
    ConversationCompacted,
    ConversationTurn,
    MessageReceived,
    ResponseSent,
    conversation_archive_path,
    conversation_path,
)
from animas_memory_writer.adapters.anima_db import AnimaDb
from animas_memory_writer.adapters.anima_dir import AnimaDir
from animas_memory_writer.memory import conversations

_log = logging.getLogger(__name__)

CONVERSATION_EVENTS = (MessageReceived, ResponseSent, ConversationCompacted)
"""Events that change conversation memory (and nothing else memory-writer answers for)."""


def apply_conversation(
    event: MessageReceived | ResponseSent | ConversationCompacted, directory: AnimaDir, db: AnimaDb
) -> tuple[str, ...]:
    """Apply one event to its peer's conversation once; return the paths written."""
    if db.op(event.id) is not None:
        return ()
    peer = conversations.peer_of(event)
    path = conversation_path(peer)
    current = _load(directory, path, peer)
    written: tuple[str, ...] = ()
    if isinstance(event, ConversationCompacted):
        change = conversations.compacted(current, event)
        if change is not None:
            after, folded = change
            archive = conversation_archive_path(peer)
            _archive(directory, archive, folded)
            directory.write(path, conversations.encode(after))
            written = (archive, path)
    else:
        turn = conversations.turn_of(event)
        after_turn = conversations.with_turn(current, turn) if turn is not None else None
        if after_turn is not None:
            directory.write(path, conversations.encode(after_turn))
            written = (path,)
    db.finish_op(event.id, event.event_type, "applied", "\n".join(written))
    return written


def _load(directory: AnimaDir, path: str, peer: str) -> Conversation:
    data = directory.read_bytes(path)
    if data is None:
        return Conversation(peer=peer)
    try:
        return conversations.decode(data)
    except msgspec.DecodeError:
        # Only a person or a crashed disk could have done this (writes are atomic): keep the
        # bytes beside it and go on with an empty history rather than stop every later event.
        directory.write(path + ".unreadable", data)
        _log.warning("conversation file unreadable; set aside", extra={"path": str(directory.root / path)})
        return Conversation(peer=peer)


def _archive(directory: AnimaDir, path: str, turns: tuple[ConversationTurn, ...]) -> None:
    """Append the turns the archive does not hold yet, in one fsynced write."""
    _, target = directory.resolve(path)
    try:
        raw = target.read_bytes()
    except FileNotFoundError:
        raw = b""
    if raw and not raw.endswith(b"\n"):
        # A crash cut the last line short: drop it; the redelivered compaction writes it again.
        keep = raw.rfind(b"\n") + 1
        with open(target, "r+b") as handle:
            handle.truncate(keep)
            os.fsync(handle.fileno())
        raw = raw[:keep]
    seen = conversations.archive_ids(raw)
    data = b"".join(conversations.archive_line(t) for t in turns if t.id not in seen)
    if not data:
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
