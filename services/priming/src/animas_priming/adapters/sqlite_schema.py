"""The SQLite file of one anima's index: its schema, how it is opened, and its plain SQL.

The file holds the chunks (with their vectors, as float32 blobs), a contentless FTS5 index and the
digests of the files indexed. A file written by another model, dimension or schema version is
deleted on open: it is derived data, and the indexer refills an empty index from the memory files.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import sqlean

from animas_priming.chunking import CONTEXT_WEIGHT, cjk_terms, episode_context
from animas_priming.ports import Chunk

SCHEMA_VERSION = "4"
"""Bump on any change to the tables below: every existing index is then rebuilt from the files
(unless :data:`_MIGRATIONS` knows how to bring it forward in place).

2: vectors in ``chunks.embedding`` (searched in memory, no sqlite-vec table); the FTS5 ``kind``
column (memory type, ``important``) so the keyword side filters inside the full-text index.
3: the ``cjk`` column holds Japanese words (``chunking.cjk_terms``: MeCab + UniDic-lite), no
longer character bigrams, which the queries no longer send.
4: the FTS5 ``context`` column: an episode entry's previous entry (``Chunk.context``), searched at
:data:`~animas_priming.chunking.CONTEXT_WEIGHT`. A version 3 file is migrated in place (its
full-text index rebuilt from the stored chunks, vectors kept: no embedding).
"""

CHUNK_FIELDS = ("chunk_id", "path", "memory_type", "heading", "text", "date", "importance", "trust")
CHUNK_COLUMNS = ", ".join((*CHUNK_FIELDS, "links"))
TEXT_COLUMNS = "{heading text cjk context}"
"""The FTS5 columns a query's words are looked for in (``kind`` only filters)."""
BM25 = f"bm25(chunks_fts, 1.0, 1.0, 1.0, {CONTEXT_WEIGHT}, 0.0)"
"""BM25 over the text columns; the ``kind`` filter adds nothing to a row's relevance."""
_FTS_COLUMNS = "heading, text, cjk, context, kind"


def open_database(file: Path, model_name: str, dimensions: int) -> Any:
    """The writer connection of an index file, created or upgraded (by rebuilding) as needed."""
    file.parent.mkdir(parents=True, exist_ok=True)
    expected = {"model_name": model_name, "dimensions": str(dimensions), "schema": SCHEMA_VERSION}
    db = connect(file)
    if _meta(db) == {**expected, "schema": "3"}:
        _migrate_from_3(db)
    if _meta(db) not in ({}, expected):
        # Vectors of another model are not comparable with ours, and an older layout may hold
        # tables this code cannot even drop (a sqlite-vec table): start from an empty file.
        db.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{file}{suffix}").unlink(missing_ok=True)
        db = connect(file)
    db.execute("BEGIN IMMEDIATE")
    try:
        _create(db, expected)
    except BaseException:
        db.execute("ROLLBACK")
        db.close()
        raise
    db.execute("COMMIT")
    return db


def connect(file: Path) -> Any:
    """A connection to an index file, usable from one thread at a time (any thread)."""
    # isolation_level=None: transactions are ours. check_same_thread=False: connections move
    # between asyncio.to_thread workers, never used by two at once.
    db = sqlean.connect(str(file), check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
    db.execute("PRAGMA synchronous=NORMAL")  # derived data: a lost tail is reindexed
    db.execute("PRAGMA busy_timeout=5000")
    return db


def _meta(db: Any) -> dict[str, str]:
    if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone() is None:
        return {}
    return dict(db.execute("SELECT key, value FROM meta").fetchall())


def _create(db: Any, meta: dict[str, str]) -> None:
    db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", meta.items())
    db.execute(
        "CREATE TABLE IF NOT EXISTS chunks (rowid INTEGER PRIMARY KEY, chunk_id TEXT NOT NULL UNIQUE,"
        " path TEXT NOT NULL, memory_type TEXT NOT NULL, heading TEXT NOT NULL, text TEXT NOT NULL,"
        " date TEXT, importance TEXT NOT NULL, trust TEXT NOT NULL, links TEXT NOT NULL,"
        " embedding BLOB NOT NULL)"
    )
    db.execute("CREATE INDEX IF NOT EXISTS chunks_path ON chunks (path)")
    db.execute("CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, digest TEXT NOT NULL)")
    # Contentless: the text lives in `chunks` once; contentless_delete allows plain DELETEs.
    _create_fts(db)


def _create_fts(db: Any) -> None:
    db.execute(
        f"CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5({_FTS_COLUMNS}, content='',"
        " contentless_delete=1, tokenize='porter unicode61')"
    )


def fts_row(rowid: int, chunk: Chunk) -> tuple[int, str, str, str, str, str]:
    """The ``chunks_fts`` row of a chunk: its words, its context's words and its kind."""
    cjk = cjk_terms(chunk.context)
    context = f"{chunk.context}\n{cjk}" if cjk else chunk.context
    return (
        rowid,
        chunk.heading,
        chunk.text,
        cjk_terms(f"{chunk.heading}\n{chunk.text}"),
        context,
        kind_terms(chunk),
    )


def insert_fts(db: Any, rows: Sequence[tuple[int, str, str, str, str, str]]) -> None:
    """Add rows made by :func:`fts_row` to the full-text index."""
    db.executemany(f"INSERT INTO chunks_fts (rowid, {_FTS_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)", rows)


def _migrate_from_3(db: Any) -> None:
    """Version 3 → 4 in place: the full-text index rebuilt with the context column, vectors kept.

    Every stored chunk is read back in file order and given its context as :func:`chunk_file`
    would (the text of the entry before it); no file is read and nothing is embedded.
    """
    db.execute("BEGIN IMMEDIATE")
    try:
        rows = db.execute(f"SELECT rowid, {CHUNK_COLUMNS} FROM chunks").fetchall()
        chunks = sorted(((int(row[0]), chunk_of("", row[1:])) for row in rows), key=_file_order)
        db.execute("DROP TABLE IF EXISTS chunks_fts")
        _create_fts(db)
        previous: Chunk | None = None
        fts: list[tuple[int, str, str, str, str, str]] = []
        for rowid, chunk in chunks:
            before = previous.text if previous is not None and previous.path == chunk.path else ""
            with_context = dataclasses.replace(chunk, context=episode_context(chunk.memory_type, before))
            fts.append(fts_row(rowid, with_context))
            previous = chunk
        insert_fts(db, fts)
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema', ?)", (SCHEMA_VERSION,))
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _file_order(item: tuple[int, Chunk]) -> tuple[str, int]:
    """A chunk's place: its file, then its position there (chunk ids are ``<path>#<position>``)."""
    chunk = item[1]
    _, _, position = chunk.chunk_id.rpartition("#")
    return chunk.path, int(position) if position.isdigit() else item[0]


def kind_terms(chunk: Chunk) -> str:
    """The ``kind`` column of a chunk: its memory type, and ``important`` when it is."""
    return f"{chunk.memory_type} important" if chunk.importance == "important" else chunk.memory_type


def kind_filter(memory_types: Sequence[str], important_only: bool) -> str:
    """The FTS5 filter for these memory types (any when none) and importance; "" for no filter."""
    types = " OR ".join('"{}"'.format(t.replace('"', '""')) for t in memory_types)
    filters = ([f"kind : ({types})"] if types else []) + (['kind : "important"'] if important_only else [])
    return " AND ".join(filters)


def keyword_rows(
    db: Any, words: str, memory_types: Sequence[str] | None, important_only: bool, limit: int
) -> list[tuple[int, float]]:
    """``(rowid, BM25 relevance as a positive number)`` for an FTS5 expression of words, best first.

    ``memory_types`` None searches every type (no filter: the cheapest query).
    """
    match = f"{TEXT_COLUMNS} : ({words})"
    kinds = kind_filter(memory_types or (), important_only)
    if kinds:
        match += f" AND {kinds}"
    rows: list[tuple[int, float]] = db.execute(
        f"SELECT rowid, -{BM25} FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY {BM25} LIMIT ?",
        (match, limit),
    ).fetchall()
    return rows


def chunks_by_rowid(db: Any, anima: str, rowids: Sequence[int]) -> dict[int, Chunk]:
    """The chunks of these rowids (absent ones left out)."""
    if not rowids:
        return {}
    marks = ", ".join("?" * len(rowids))
    rows = db.execute(f"SELECT rowid, {CHUNK_COLUMNS} FROM chunks WHERE rowid IN ({marks})", list(rowids))
    return {int(row[0]): chunk_of(anima, row[1:]) for row in rows}


def chunk_of(anima: str, row: Sequence[Any]) -> Chunk:
    """The Chunk of a ``SELECT CHUNK_COLUMNS`` row."""
    fields = dict(zip(CHUNK_FIELDS, row[:-1], strict=True))
    return Chunk(anima=anima, **fields, links=tuple(json.loads(row[-1])))


def all_vectors(
    db: Any, dimensions: int
) -> tuple[list[tuple[int, str, bool]], np.ndarray[Any, np.dtype[np.float32]]]:
    """Every chunk's ``(rowid, memory type, important)`` and its vector, in rowid order."""
    rows = db.execute(
        "SELECT rowid, memory_type, importance, embedding FROM chunks ORDER BY rowid"
    ).fetchall()
    meta = [(int(rowid), str(kind), importance == "important") for rowid, kind, importance, _ in rows]
    vectors = np.frombuffer(b"".join(row[3] for row in rows), dtype=np.float32).reshape(len(rows), dimensions)
    return meta, vectors
