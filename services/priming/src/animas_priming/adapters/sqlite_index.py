"""The embedded :class:`~animas_priming.ports.MemoryIndex`: one SQLite file per anima, vectors in memory.

Each ``<index_dir>/<anima>.db`` holds the chunks with their vectors and an FTS5 index (BM25;
Japanese as MeCab words in a second column); see :mod:`.sqlite_schema`. The dense side runs
over the anima's vectors held in memory (:mod:`.vector_matrix`): one matrix-vector product per
search, exact. It is derived data: deleting the folder loses nothing that a reindex cannot rebuild.

Reads do not wait for each other or for writes: each reading thread takes a connection from the
anima's pool (WAL gives it a consistent snapshot) and the vectors are read without a lock. Writes
to one anima are serialised by its lock and update the vectors after they commit.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from animas_priming.adapters import sqlite_schema as schema
from animas_priming.adapters.keyword_side import KeywordPart, keyword_sides
from animas_priming.adapters.sqlite_anima import AnimaFile, Closed
from animas_priming.adapters.vector_matrix import VectorFilter
from animas_priming.chunking import search_terms
from animas_priming.domain.fusion import fuse
from animas_priming.domain.query_terms import content_terms
from animas_priming.ports import MEMORY_TYPES, Chunk, Hit, SearchScope

_ANIMA = re.compile(r"^[a-z][a-z0-9_-]*$")
_T = TypeVar("_T")
KeywordTerms = Callable[[Sequence[str]], list[str]]


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
        keyword_terms: KeywordTerms = content_terms,
    ) -> None:
        self._dir = index_dir
        self._keyword_terms = keyword_terms
        self._dimensions = dimensions
        self._model_name = model_name
        self._open: dict[str, AnimaFile] = {}
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
        matrix = np.asarray(vectors, dtype=np.float32).reshape(len(chunks), self._dimensions)
        self._with(anima, True, lambda file: file.replace_path(path, digest, chunks, matrix), None)

    def delete_file(self, anima: str, path: str) -> None:
        self._with(anima, False, lambda file: file.delete_path(path), None)

    def drop_anima(self, anima: str) -> None:
        db_file = self._file(anima)
        with self._open_lock:
            opened = self._open.pop(anima, None)
            if opened is not None:
                opened.close()
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db_file}{suffix}").unlink(missing_ok=True)

    def file_digests(self, anima: str) -> dict[str, str]:
        def read(file: AnimaFile) -> dict[str, str]:
            with file.reading() as db:
                return dict(db.execute("SELECT path, digest FROM files").fetchall())

        return self._with(anima, False, read, {})

    def count(self, anima: str) -> int:
        def read(file: AnimaFile) -> int:
            with file.reading() as db:
                return int(db.execute("SELECT count(*) FROM chunks").fetchone()[0])

        return self._with(anima, False, read, 0)

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
        types = None if memory_types is None else tuple(memory_types)
        scope = SearchScope(limit=limit, memory_types=types, important_only=important_only)
        return self.search_scopes(anima, query, vector, [scope])[0]

    def search_scopes(
        self, anima: str, query: str, vector: Sequence[float], scopes: Sequence[SearchScope]
    ) -> list[list[Hit]]:
        if len(vector) not in (0, self._dimensions):
            raise ValueError(f"query vector of {len(vector)} dimensions, index has {self._dimensions}")
        query_vector = np.asarray(vector, dtype=np.float32)
        return self._with(
            anima, False, lambda file: self._search(file, query, query_vector, scopes), [[] for _ in scopes]
        )

    def chunks(self, anima: str, chunk_ids: Sequence[str]) -> list[Chunk]:
        if not chunk_ids:
            return []

        def read(file: AnimaFile) -> list[Chunk]:
            marks = ", ".join("?" * len(chunk_ids))
            with file.reading() as db:
                rows = db.execute(
                    f"SELECT {schema.CHUNK_COLUMNS} FROM chunks WHERE chunk_id IN ({marks})", list(chunk_ids)
                ).fetchall()
            found = {row[0]: schema.chunk_of(anima, row) for row in rows}
            return [found[chunk_id] for chunk_id in dict.fromkeys(chunk_ids) if chunk_id in found]

        return self._with(anima, False, read, [])

    def close(self) -> None:
        with self._open_lock:
            for opened in self._open.values():
                opened.close()
            self._open.clear()

    def _search(
        self, file: AnimaFile, query: str, vector: np.ndarray[Any, Any], scopes: Sequence[SearchScope]
    ) -> list[list[Hit]]:
        types = [tuple(MEMORY_TYPES if s.memory_types is None else s.memory_types) for s in scopes]
        # Each side looks deeper than the limit, so fusion has candidates the other side ranks low.
        depth = [max(s.limit * 4, 50) if s.limit > 0 else 0 for s in scopes]
        vectors = file.vectors()
        filters = [
            VectorFilter(frozenset(t), s.important_only, k)
            for s, t, k in zip(scopes, types, depth, strict=True)
        ]
        dense = vectors.top(vector, filters) if len(vector) else [{} for _ in scopes]
        matches: dict[str, str | None] = {}
        parts: list[KeywordPart] = []
        with file.reading() as db:
            for scope, scope_types, wanted in zip(scopes, types, depth, strict=True):
                text = query if scope.keywords is None else scope.keywords
                if text not in matches:
                    matches[text] = fts_query(text, self._keyword_terms)
                parts.append(KeywordPart(matches[text], scope_types, scope.important_only, wanted))
            keyword = keyword_sides(db, parts, vectors)
            fused = [
                dict(fuse(side, dense_side, limit=scope.limit)) if scope.limit > 0 else {}
                for scope, side, dense_side in zip(scopes, keyword, dense, strict=True)
            ]
            found = schema.chunks_by_rowid(
                db, file.anima, sorted({rowid for part in fused for rowid in part})
            )
        return [
            [
                Hit(chunk=found[rowid], score=score, keyword=side.get(rowid), dense=dense_side.get(rowid))
                for rowid, score in part.items()
                if rowid in found  # deleted since the vectors were read
            ]
            for part, side, dense_side in zip(fused, keyword, dense, strict=True)
        ]

    def _with(self, anima: str, create: bool, work: Callable[[AnimaFile], _T], absent: _T) -> _T:
        """``work`` on the anima's open file; ``absent`` if it has none (and ``create`` is false)."""
        db_file = self._file(anima)
        while True:
            with self._open_lock:
                opened = self._open.get(anima)
                if opened is None and (create or db_file.exists()):
                    opened = self._open[anima] = AnimaFile(
                        anima,
                        db_file,
                        schema.open_database(db_file, self._model_name, self._dimensions),
                        self._dimensions,
                    )
            if opened is None:
                return absent
            try:
                return work(opened)
            except Closed:
                continue  # dropped or closed meanwhile: open it afresh

    def _file(self, anima: str) -> Path:
        # Names are validated upstream; checked again because this one becomes a file name.
        if not _ANIMA.fullmatch(anima):
            raise ValueError(f"invalid anima name {anima!r}")
        return self._dir / f"{anima}.db"


def fts_query(text: str, keyword_terms: KeywordTerms = list) -> str | None:
    """A safe FTS5 MATCH expression for user text: every kept term quoted, ORed; None if no terms.

    ``keyword_terms`` picks the terms to keep (all by default). A lone CJK character becomes a
    prefix query, so it matches the words (or Hangul bigrams) that start with it.
    """
    terms = keyword_terms(search_terms(text))
    if not terms:
        return None
    quoted = [
        '"{}"{}'.format(term.replace('"', '""'), "*" if len(term) == 1 and not term.isascii() else "")
        for term in terms
    ]
    return " OR ".join(quoted)
