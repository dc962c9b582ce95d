"""Housekeeping's deletions: saved sessions past keeping, conversation turns past their age.

Both arrive as ``memory.op.requested`` from the consolidator's daily run, so a rebuild from the
stream deletes and trims exactly what the live system did. Each is safe to apply again: a trim
with the same cut-off leaves the same lines, and a deletion is recorded under its event id.
"""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec

from animas_contracts import ConversationTurn, DeleteSavedSession, TrimConversationArchive
from animas_contracts.conversation import CONVERSATIONS_DIR
from animas_memory_writer.adapters.anima_db import AnimaDb
from animas_memory_writer.adapters.anima_dir import AnimaDir, digest
from animas_memory_writer.memory.rules import Rejected, require_under

SAVED_SESSIONS = "shortterm/archive/"
ARCHIVE_SUFFIX = ".archive.jsonl"
_turn = msgspec.json.Decoder(ConversationTurn)


def delete_saved_session(op: DeleteSavedSession, directory: AnimaDir, db: AnimaDb) -> tuple[str, ...]:
    """Delete one saved session; only ``shortterm/archive/`` may be emptied this way."""
    path, _ = directory.resolve(op.path)
    require_under(path, (SAVED_SESSIONS,), "deleting a memory")
    if not directory.exists(path):
        raise Rejected(f"{path} does not exist")
    directory.delete(path)
    db.set_file(path, None)
    return (path,)


def trim_conversation_archive(
    op: TrimConversationArchive, directory: AnimaDir, db: AnimaDb
) -> tuple[str, ...]:
    """Keep the archive's turns said at or after the cut-off (and any line that is not a turn)."""
    path, _ = directory.resolve(op.path)
    if op.before.tzinfo is None:
        raise Rejected("the cut-off of a conversation archive trim needs a time zone (UTC)")
    if not (path.startswith(CONVERSATIONS_DIR) and path.endswith(ARCHIVE_SUFFIX)):
        raise Rejected(
            f"only conversation archives ({CONVERSATIONS_DIR}*{ARCHIVE_SUFFIX}) are trimmed; got {path!r}"
        )
    raw = directory.read_bytes(path)
    if raw is None:
        raise Rejected(f"{path} does not exist")
    kept = kept_lines(raw, op.before)
    if kept == raw:
        return ()
    directory.write(path, kept)
    db.set_file(path, digest(kept))
    return (path,)


def kept_lines(raw: bytes, before: datetime) -> bytes:
    """The archive's lines without the turns said before ``before``.

    A line that does not decode as a turn is kept: retention removes what it can date, nothing else.
    """
    kept = []
    for line in raw.splitlines(keepends=True):
        try:
            turn = _turn.decode(line)
        except msgspec.DecodeError:
            kept.append(line)
            continue
        said = turn.ts if turn.ts.tzinfo is not None else turn.ts.replace(tzinfo=UTC)
        if said >= before:
            kept.append(line)
    return b"".join(kept)
