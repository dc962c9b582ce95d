"""The embedded :class:`~animas_priming.ports.MemoryIndex`: one SQLite file per anima.

Each ``<index_dir>/<anima>.db`` holds the chunks, an FTS5 index (BM25; Japanese through CJK
bigrams in a second column) and a sqlite-vec ``vec0`` table (exact cosine KNN). It is derived
data: deleting the folder loses nothing that a reindex cannot rebuild.
"""

from __future__ import annotations

import array
import json
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlean
import sqlite_vec

from animas_priming.chunking import cjk_terms, search_terms
from animas_priming.domain.fusion import fuse
from animas_priming.domain.query_terms import content_terms
from animas_priming.ports import MEMORY_TYPES, Chunk, Hit

_ANIMA = re.compile(r"^[a-z][a-z0-9_-]*$")
_CHUNK_FIELDS = ("chunk_id", "path", "memory_type", "heading", "text", "date", "importance", "trust")
_CHUNK_COLUMNS = ", ".join((*_CHUNK_FIELDS, "links"))


class _Handle:
    """One anima's open connection and the lock that serialises its use."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.lock = threading.Lock()
        self.closed = False

    def close(self) -> None:
        with self.lock:
            self.closed = True
            self.connection.close()


class SqliteMemoryIndex:
    """Hybrid BM25 + vector search over SQLite files, safe to call from worker threads.

    Args:
        index_dir: Folder of the per-anima database files (created when missing).
        dimensions: Length of every vector.
        model_name: The embedding model; an index built by another model (or dimension) is
            emptied on open, so the next reindex refills it with comparable vectors.
        keyword_terms: Which of a query's terms the keyword side looks for (by default without
            English function words; the recall benchmark passes ``list`` to compare with all).
    """

    def __init__(
        self,
        index_dir: Path,
        dimensions: int,
        model_name: str,
        *,
        keyword_terms: Callable[[Sequence[str]], list[str]] = content_terms,
    ) -> None:
        self._dir = index_dir
        self._keyword_terms = keyword_terms
        self._dimensions = dimensions
        self._model_name = model_name
        self._open: dict[str, _Handle] = {}
        self._open_lock = threading.Lock()

    def upsert_file(
        self, anima: str, path: str, digest: str, chunks: Sequence[Chunk], vectors: Sequence[Sequence[float]]
    ) -> None:
        if len(chunks) != len(vectors):
            raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors")
        for chunk, vector in zip(chunks, vectors, strict=True):
            if chunk.anima != anima or chunk.path != path:
                raise ValueError(f"chunk {chunk.chunk_id!r} is not of {anima}/{path}")
            if len(vector) != self._dimensions:
                raise ValueError(f"vector of {len(vector)} dimensions, index has {self._dimensions}")
        with self._transaction(anima, create=True) as db:
            _delete_path(db, path)
            for chunk, vector in zip(chunks, vectors, strict=True):
                row = [getattr(chunk, name) for name in _CHUNK_FIELDS] + [json.dumps(list(chunk.links))]
                marks = ", ".join("?" * len(row))
                rowid = db.execute(f"INSERT INTO chunks ({_CHUNK_COLUMNS}) VALUES ({marks})", row).lastrowid
                db.execute(
                    "INSERT INTO chunks_fts (rowid, heading, text, cjk) VALUES (?, ?, ?, ?)",
                    (rowid, chunk.heading, chunk.text, cjk_terms(f"{chunk.heading}\n{chunk.text}")),
                )
                db.execute(
                    "INSERT INTO chunks_vec (rowid, embedding, memory_type, important) VALUES (?, ?, ?, ?)",
                    (rowid, _blob(vector), chunk.memory_type, int(chunk.importance == "important")),
                )
            db.execute("INSERT OR REPLACE INTO files (path, digest) VALUES (?, ?)", (path, digest))

    def delete_file(self, anima: str, path: str) -> None:
        with self._transaction(anima, create=False) as db:
            if db is not None:
                _delete_path(db, path)
                db.execute("DELETE FROM files WHERE path = ?", (path,))

    def drop_anima(self, anima: str) -> None:
        file = self._file(anima)
        with self._open_lock:
            handle = self._open.pop(anima, None)
            if handle is not None:
                handle.close()
            for suffix in ("", "-wal", "-shm"):
                Path(f"{file}{suffix}").unlink(missing_ok=True)

    def file_digests(self, anima: str) -> dict[str, str]:
        with self._transaction(anima, create=False) as db:
            return {} if db is None else dict(db.execute("SELECT path, digest FROM files").fetchall())

    def count(self, anima: str) -> int:
        with self._transaction(anima, create=False) as db:
            return 0 if db is None else int(db.execute("SELECT count(*) FROM chunks").fetchone()[0])

    def search(
        self,
        anima: str,
        query: str,
        vector: Sequence[float],
        *,
        limit: int,
        memory_types: Sequence[str] | None = None,
        important_only: bool = False,
    ) -> list[Hit]:
        if len(vector) not in (0, self._dimensions):
            raise ValueError(f"query vector of {len(vector)} dimensions, index has {self._dimensions}")
        if limit <= 0:
            return []
        types = list(MEMORY_TYPES if memory_types is None else memory_types)
        if not types:
            return []
        wanted = max(limit * 4, 50)
        with self._transaction(anima, create=False) as db:
            if db is None:
                return []
            keyword = _keyword_side(db, fts_query(query, self._keyword_terms), types, important_only, wanted)
            dense = _vector_side(db, vector, types, important_only, wanted) if len(vector) else {}
            fused = dict(fuse(keyword, dense, limit=limit))
            best = list(fused)
            chunks = _chunks_by_rowid(db, anima, best)
        return [
            Hit(chunk=chunks[rowid], score=fused[rowid], keyword=keyword.get(rowid), dense=dense.get(rowid))
            for rowid in best
            if rowid in chunks
        ]

    def chunks(self, anima: str, chunk_ids: Sequence[str]) -> list[Chunk]:
        if not chunk_ids:
            return []
        with self._transaction(anima, create=False) as db:
            if db is None:
                return []
            marks = ", ".join("?" * len(chunk_ids))
            rows = db.execute(
                f"SELECT {_CHUNK_COLUMNS} FROM chunks WHERE chunk_id IN ({marks})", list(chunk_ids)
            ).fetchall()
        found = {row[0]: _chunk(anima, row) for row in rows}
        return [found[chunk_id] for chunk_id in dict.fromkeys(chunk_ids) if chunk_id in found]

    def close(self) -> None:
        with self._open_lock:
            for handle in self._open.values():
                handle.close()
            self._open.clear()

    def _file(self, anima: str) -> Path:
        # Names are validated upstream; checked again because this one becomes a file name.
        if not _ANIMA.fullmatch(anima):
            raise ValueError(f"invalid anima name {anima!r}")
        return self._dir / f"{anima}.db"

    @contextmanager
    def _transaction(self, anima: str, *, create: bool) -> Iterator[Any]:
        """The anima's connection inside a transaction, under its lock; None if it has no index."""
        file = self._file(anima)
        while True:
            with self._open_lock:
                handle = self._open.get(anima)
                if handle is None and (create or file.exists()):
                    handle = self._open[anima] = _Handle(self._connect(file))
            if handle is None:
                yield None
                return
            with handle.lock:
                if handle.closed:  # dropped or closed while we waited: open it afresh
                    continue
                db = handle.connection
                db.execute("BEGIN")
                try:
                    yield db
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                db.execute("COMMIT")
                return

    def _connect(self, file: Path) -> Any:
        file.parent.mkdir(parents=True, exist_ok=True)
        # check_same_thread=False: calls arrive on asyncio.to_thread workers; the per-anima lock
        # serialises them. isolation_level=None: transactions are ours (BEGIN/COMMIT above).
        connection = sqlean.connect(str(file), check_same_thread=False, isolation_level=None)
        connection.enable_load_extension(True)
        sqlite_vec.load(connection)
        connection.enable_load_extension(False)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")  # derived data: a lost tail is reindexed
        connection.execute("PRAGMA busy_timeout=5000")
        connection.execute("BEGIN")
        try:
            self._ensure_schema(connection)
        except BaseException:
            connection.execute("ROLLBACK")
            connection.close()
            raise
        connection.execute("COMMIT")
        return connection

    def _ensure_schema(self, db: Any) -> None:
        db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        expected = {"model_name": self._model_name, "dimensions": str(self._dimensions)}
        if meta and meta != expected:
            # Vectors of another model are not comparable with ours: start empty, reindex refills.
            for table in ("chunks_vec", "chunks_fts", "chunks", "files"):
                db.execute(f"DROP TABLE IF EXISTS {table}")
            db.execute("DELETE FROM meta")
        db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", expected.items())
        db.execute(
            "CREATE TABLE IF NOT EXISTS chunks (rowid INTEGER PRIMARY KEY, chunk_id TEXT NOT NULL UNIQUE,"
            " path TEXT NOT NULL, memory_type TEXT NOT NULL, heading TEXT NOT NULL, text TEXT NOT NULL,"
            " date TEXT, importance TEXT NOT NULL, trust TEXT NOT NULL, links TEXT NOT NULL)"
        )
        db.execute("CREATE INDEX IF NOT EXISTS chunks_path ON chunks (path)")
        db.execute("CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, digest TEXT NOT NULL)")
        # Contentless: the text lives in `chunks` once; contentless_delete allows plain DELETEs.
        db.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(heading, text, cjk, content='',"
            " contentless_delete=1, tokenize='porter unicode61')"
        )
        # Metadata columns let the KNN itself filter by type and importance.
        db.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS chunks_vec USING vec0(embedding"
            f" float[{self._dimensions}] distance_metric=cosine, memory_type text, important integer)"
        )


def _delete_path(db: Any, path: str) -> None:
    rowids = [(row[0],) for row in db.execute("SELECT rowid FROM chunks WHERE path = ?", (path,))]
    db.executemany("DELETE FROM chunks_fts WHERE rowid = ?", rowids)
    db.executemany("DELETE FROM chunks_vec WHERE rowid = ?", rowids)
    db.executemany("DELETE FROM chunks WHERE rowid = ?", rowids)


def fts_query(text: str, keyword_terms: Callable[[Sequence[str]], list[str]] = list) -> str | None:
    """A safe FTS5 MATCH expression for user text: every kept term quoted, ORed; None if no terms.

    ``keyword_terms`` picks the terms to keep (all by default). A lone CJK character becomes a
    prefix query, so it matches the bigrams that start with it.
    """
    terms = keyword_terms(search_terms(text))
    if not terms:
        return None
    quoted = [
        '"{}"{}'.format(term.replace('"', '""'), "*" if len(term) == 1 and not term.isascii() else "")
        for term in terms
    ]
    return " OR ".join(quoted)


def _keyword_side(
    db: Any, match: str | None, types: list[str], important_only: bool, wanted: int
) -> dict[int, float]:
    """Rowids by BM25 for a MATCH expression, best first, with the BM25 relevance as a positive number."""
    if match is None:
        return {}
    marks = ", ".join("?" * len(types))
    rows = db.execute(
        "SELECT f.rowid, -bm25(chunks_fts) AS relevance FROM chunks_fts AS f"
        " JOIN chunks AS c ON c.rowid = f.rowid"
        f" WHERE chunks_fts MATCH ? AND c.memory_type IN ({marks})"
        " AND (? = 0 OR c.importance = 'important')"
        " ORDER BY bm25(chunks_fts) LIMIT ?",
        [match, *types, int(important_only), wanted],
    ).fetchall()
    return {int(rowid): float(relevance) for rowid, relevance in rows}


def _vector_side(
    db: Any, vector: Sequence[float], types: list[str], important_only: bool, wanted: int
) -> dict[int, float]:
    """Rowids by cosine similarity (1 - distance), best first, filtered inside the KNN."""
    marks = ", ".join("?" * len(types))
    sql = (
        "SELECT rowid, distance FROM chunks_vec"
        f" WHERE embedding MATCH ? AND k = ? AND memory_type IN ({marks})"
    )
    params: list[Any] = [_blob(vector), wanted, *types]
    if important_only:
        sql += " AND important = 1"
    rows = db.execute(sql + " ORDER BY distance", params).fetchall()
    return {int(rowid): 1.0 - float(distance) for rowid, distance in rows}


def _chunks_by_rowid(db: Any, anima: str, rowids: list[int]) -> dict[int, Chunk]:
    if not rowids:
        return {}
    marks = ", ".join("?" * len(rowids))
    rows = db.execute(f"SELECT rowid, {_CHUNK_COLUMNS} FROM chunks WHERE rowid IN ({marks})", rowids)
    return {int(row[0]): _chunk(anima, row[1:]) for row in rows}


def _chunk(anima: str, row: Sequence[Any]) -> Chunk:
    """The Chunk of a ``SELECT _CHUNK_COLUMNS`` row."""
    fields = dict(zip(_CHUNK_FIELDS, row[:-1], strict=True))
    return Chunk(anima=anima, **fields, links=tuple(json.loads(row[-1])))


def _blob(vector: Sequence[float]) -> bytes:
    return array.array("f", vector).tobytes()  # float32, the layout vec0 expects
