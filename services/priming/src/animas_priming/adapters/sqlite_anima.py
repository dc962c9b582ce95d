"""One anima's open index file: a writer connection, a pool of reader connections, its vectors.

WAL lets any number of readers run beside the one writer, each on a consistent snapshot, so a
reading thread takes a connection of its own from the pool instead of queueing on a shared one.
Writes are serialised by the anima's lock; the in-memory vectors change under the same lock,
after the commit, so they never hold a row SQLite could still roll back.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from animas_priming.adapters import sqlite_schema as schema
from animas_priming.adapters.vector_matrix import VectorMatrix, Vectors
from animas_priming.ports import Chunk


class Closed(Exception):
    """The file was dropped or closed while a caller was about to use it (open it again)."""


class AnimaFile:
    """The open index of one anima."""

    def __init__(self, anima: str, file: Path, writer: Any, dimensions: int) -> None:
        self.anima = anima
        self._file = file
        self._writer = writer
        self._dimensions = dimensions
        self._write_lock = threading.Lock()
        self._pool_lock = threading.Lock()
        self._readers_done = threading.Condition(self._pool_lock)
        self._reading = 0
        self._idle: list[Any] = []
        self._closed = False
        self._vectors: VectorMatrix | None = None

    @contextmanager
    def reading(self) -> Iterator[Any]:
        """A reader connection inside a read transaction (one snapshot for every statement)."""
        with self._pool_lock:
            if self._closed:
                raise Closed
            self._reading += 1
            db = self._idle.pop() if self._idle else None
        try:
            if db is None:
                db = schema.connect(self._file)
            db.execute("BEGIN")
            try:
                yield db
            finally:
                db.execute("COMMIT")  # nothing was written: ends the snapshot
        finally:
            with self._pool_lock:
                self._reading -= 1
                if db is not None and self._closed:
                    db.close()
                elif db is not None:
                    self._idle.append(db)
                self._readers_done.notify_all()

    @contextmanager
    def _writing(self) -> Iterator[Any]:
        """The writer connection inside a write transaction; the caller holds the write lock."""
        if self._closed:
            raise Closed
        db = self._writer
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def vectors(self) -> VectorMatrix:
        """The anima's vectors in memory, read from the file on first use."""
        vectors = self._vectors
        if vectors is None:
            with self._write_lock:  # no write can land between the read and the publication
                if self._closed:
                    raise Closed
                if self._vectors is None:
                    loaded = VectorMatrix(self._dimensions)
                    with self._writing() as db:
                        rows, matrix = schema.all_vectors(db, self._dimensions)
                    loaded.add(rows, matrix)
                    self._vectors = loaded
                vectors = self._vectors
        return vectors

    def replace_path(self, path: str, digest: str, chunks: Sequence[Chunk], matrix: Vectors) -> None:
        """Every chunk of ``path`` replaced by ``chunks`` (with their vectors), and its digest."""
        with self._write_lock:
            added: list[tuple[int, str, bool]] = []
            with self._writing() as db:
                removed = _delete_path(db, path)
                fts = []
                for chunk, vector in zip(chunks, matrix, strict=True):
                    row = [getattr(chunk, name) for name in schema.CHUNK_FIELDS]
                    rowid = db.execute(
                        f"INSERT INTO chunks ({schema.CHUNK_COLUMNS}, embedding) VALUES"
                        f" ({', '.join('?' * (len(row) + 2))})",
                        [*row, json.dumps(list(chunk.links)), np.ascontiguousarray(vector).tobytes()],
                    ).lastrowid
                    fts.append(schema.fts_row(int(rowid), chunk))
                    added.append((int(rowid), chunk.memory_type, chunk.importance == "important"))
                schema.insert_fts(db, fts)
                db.execute("INSERT OR REPLACE INTO files (path, digest) VALUES (?, ?)", (path, digest))
            if self._vectors is not None:
                self._vectors.remove(removed)
                self._vectors.add(added, matrix)

    def delete_path(self, path: str) -> None:
        """Forget every chunk of ``path`` and its digest."""
        with self._write_lock:
            with self._writing() as db:
                removed = _delete_path(db, path)
                db.execute("DELETE FROM files WHERE path = ?", (path,))
            if self._vectors is not None:
                self._vectors.remove(removed)

    def close(self) -> None:
        """Close every connection, after the readers still running have finished.

        Waiting matters to :meth:`SqliteMemoryIndex.drop_anima`: a reader whose file (and its
        ``-shm``) is deleted under it fails with "disk I/O error".
        """
        with self._write_lock, self._pool_lock:
            if self._closed:
                return
            self._closed = True
            for db in self._idle:
                db.close()
            self._idle.clear()
            self._writer.close()
            self._vectors = None
            self._readers_done.wait_for(lambda: self._reading == 0)


def _delete_path(db: Any, path: str) -> list[int]:
    rowids = [int(row[0]) for row in db.execute("SELECT rowid FROM chunks WHERE path = ?", (path,))]
    db.executemany("DELETE FROM chunks_fts WHERE rowid = ?", [(r,) for r in rowids])
    db.executemany("DELETE FROM chunks WHERE rowid = ?", [(r,) for r in rowids])
    return rowids
