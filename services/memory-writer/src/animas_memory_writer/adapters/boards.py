"""The boards projection: each board's meta, members and numbered posts, in one SQLite file.

memory-writer is the only writer. ``board.created`` / ``board.joined`` / ``board.left`` are
decided here, in stream order, so two animas creating the same board at once get one board and
one refusal (answered like a memory change: ``memory.op.applied`` or ``memory.op.rejected``);
``channel.posted`` appends the post with the next number on its board. Every event is applied
once by id, so a redelivery or a one-anima rebuild changes nothing; a full rebuild starts from an
empty file (:meth:`BoardStore.reset`) and replays the stream into the same numbers.

``general`` is implicit: it always exists, every anima is on it and may post, nobody joins or
leaves it, and nobody can create another board by that name.

Reading a board (``rpc.memory.board``) is a query of this file: the meta, the members and one
page of posts before a sequence number, never a scan of the stream.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
from pathlib import Path

from animas_contracts import (
    GENERAL_BOARD,
    BoardCreated,
    BoardJoined,
    BoardLeft,
    BoardPost,
    BoardReply,
    BoardRequest,
    ChannelPosted,
    Event,
    PostingPolicy,
    is_valid_anima_name,
)

BOARD_EVENTS = (BoardCreated, BoardJoined, BoardLeft, ChannelPosted)
"""The events this projection applies."""

GENERAL_DESCRIPTION = "Everyone's board: every anima is on it and may post."

SCHEMA = """
CREATE TABLE IF NOT EXISTS boards (
  name TEXT PRIMARY KEY, description TEXT NOT NULL, posting TEXT NOT NULL, owner TEXT,
  created_at TEXT NOT NULL, created_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS members (
  board TEXT NOT NULL, anima TEXT NOT NULL, since TEXT NOT NULL, PRIMARY KEY (board, anima)
);
CREATE TABLE IF NOT EXISTS posts (
  board TEXT NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL UNIQUE, anima TEXT NOT NULL,
  text TEXT NOT NULL, ts TEXT NOT NULL, thread_id TEXT NOT NULL, PRIMARY KEY (board, seq)
);
CREATE TABLE IF NOT EXISTS applied (event_id TEXT PRIMARY KEY, kind TEXT NOT NULL, reason TEXT);
"""


@dataclasses.dataclass(frozen=True)
class Verdict:
    """What became of a membership change: applied (no reason) or refused with the reason."""

    kind: str
    reason: str | None = None


class BoardStore:
    """The boards file (``<home>/boards/boards.db``); safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.executescript(SCHEMA)
            self._conn = conn
        return self._conn

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def reset(self) -> None:
        """Forget every board and post (the first step of a full rebuild)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self._path}{suffix}").unlink(missing_ok=True)

    def apply(self, event: Event) -> Verdict | None:
        """Apply one board event once; a verdict for membership changes, None for a post."""
        with self._lock:
            db = self._db()
            if isinstance(event, ChannelPosted):
                _append_post(db, event)
                return None
            if not isinstance(event, BoardCreated | BoardJoined | BoardLeft):
                return None
            row = db.execute("SELECT kind, reason FROM applied WHERE event_id = ?", (event.id,)).fetchone()
            if row is not None:
                return Verdict(row[0], row[1])
            db.execute("BEGIN IMMEDIATE")
            try:
                verdict = _decide(db, event)
                db.execute("INSERT INTO applied VALUES (?, ?, ?)", (event.id, verdict.kind, verdict.reason))
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            return verdict

    def read(self, request: BoardRequest) -> BoardReply:
        """A board's meta, members and the page of posts before ``request.before``, oldest first."""
        name = request.board.strip().lstrip("#").lower()
        if not is_valid_anima_name(name):
            return BoardReply(ok=False, board=name, error=f"{request.board!r} is not a valid board name")
        with self._lock:
            db = self._db()
            meta = _meta(db, name)
            if meta is None:
                return BoardReply(ok=True, exists=False, board=name)
            members = [
                r[0] for r in db.execute("SELECT anima FROM members WHERE board = ? ORDER BY anima", (name,))
            ]
            total = int(db.execute("SELECT COUNT(*) FROM posts WHERE board = ?", (name,)).fetchone()[0])
            before = request.before if request.before is not None else 2**62
            rows = db.execute(
                "SELECT seq, id, anima, text, ts, thread_id FROM posts WHERE board = ? AND seq < ? "
                "ORDER BY seq DESC LIMIT ?",
                (name, before, request.limit),
            ).fetchall()
        posts = [
            BoardPost(seq=r[0], id=r[1], anima=r[2], text=r[3], ts=r[4], thread_id=r[5])
            for r in reversed(rows)
        ]
        oldest = posts[0].seq if posts else None
        return BoardReply(
            ok=True,
            exists=True,
            board=name,
            description=meta[0],
            posting=PostingPolicy(meta[1]),
            owner=meta[2],
            everyone=name == GENERAL_BOARD,
            members=[] if name == GENERAL_BOARD else members,
            posts=posts,
            total=total,
            next_before=oldest if oldest is not None and oldest > 1 else None,
        )


def _meta(db: sqlite3.Connection, name: str) -> tuple[str, str, str | None] | None:
    if name == GENERAL_BOARD:
        return (GENERAL_DESCRIPTION, PostingPolicy.ANYONE.value, None)
    row = db.execute("SELECT description, posting, owner FROM boards WHERE name = ?", (name,)).fetchone()
    return None if row is None else (row[0], row[1], row[2])


def _is_member(db: sqlite3.Connection, board: str, anima: str) -> bool:
    found = db.execute("SELECT 1 FROM members WHERE board = ? AND anima = ?", (board, anima)).fetchone()
    return found is not None


def _decide(db: sqlite3.Connection, event: BoardCreated | BoardJoined | BoardLeft) -> Verdict:
    """Apply a membership change, or say why it cannot be (nothing written then)."""
    kind = event.event_type
    board = event.board
    stamp = event.ts.isoformat(timespec="seconds")
    if not is_valid_anima_name(board):
        return Verdict(kind, f"{board!r} is not a valid board name (lowercase letters, digits, '_' or '-')")
    if board == GENERAL_BOARD:
        return Verdict(kind, "#general is everyone's board: it always exists and every anima is on it")
    meta = _meta(db, board)
    match event:
        case BoardCreated():
            if meta is not None:
                return Verdict(kind, f"a board named #{board} exists already (created by {meta[2]})")
            db.execute(
                "INSERT INTO boards VALUES (?, ?, ?, ?, ?, ?)",
                (board, event.description, event.posting.value, event.anima, stamp, event.id),
            )
            db.execute("INSERT INTO members VALUES (?, ?, ?)", (board, event.anima, stamp))
        case BoardJoined():
            if meta is None:
                return Verdict(kind, f"there is no board #{board}")
            if _is_member(db, board, event.anima):
                return Verdict(kind, f"{event.anima} is a member of #{board} already")
            db.execute("INSERT INTO members VALUES (?, ?, ?)", (board, event.anima, stamp))
        case BoardLeft():
            if meta is None:
                return Verdict(kind, f"there is no board #{board}")
            if not _is_member(db, board, event.anima):
                return Verdict(kind, f"{event.anima} is not a member of #{board}")
            db.execute("DELETE FROM members WHERE board = ? AND anima = ?", (board, event.anima))
    return Verdict(kind)


def _append_post(db: sqlite3.Connection, event: ChannelPosted) -> None:
    """The post under the next number of its board; a post already there is left alone."""
    db.execute("BEGIN IMMEDIATE")
    try:
        seen = db.execute("SELECT 1 FROM posts WHERE id = ?", (event.id,)).fetchone()
        if seen is None:
            last = db.execute("SELECT MAX(seq) FROM posts WHERE board = ?", (event.channel,)).fetchone()[0]
            db.execute(
                "INSERT INTO posts VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    event.channel,
                    int(last or 0) + 1,
                    event.id,
                    event.anima,
                    event.text,
                    event.ts.isoformat(timespec="seconds"),
                    event.thread_id,
                ),
            )
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
