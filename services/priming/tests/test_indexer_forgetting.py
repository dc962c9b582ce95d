"""A forgotten memory leaves the index; a restored one comes back (the paths of memory.archive/restore).

memory-writer answers ``memory.archive`` with the paths ``(path, archive/path)`` and
``memory.restore`` with ``(archive/path, path)``; the indexer re-reads both. The archive is never
indexed, and a path that no longer reads is deleted from the index.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest

from animas_core.memory_client import MemoryClient
from animas_priming.adapters.embedder import SentenceTransformerEmbedder
from animas_priming.adapters.sqlite_index import SqliteMemoryIndex
from animas_priming.indexer import Indexer

PRINTER = "knowledge/printer.md"
TEXT = "# Printer\n\nThe printer on floor 3 jams on A3 paper.\n"


class AnimaFiles:
    """The anima's files as memory-writer would serve them."""

    def __init__(self) -> None:
        self.files: dict[str, str] = {}

    async def read(self, anima: str, path: str) -> str | None:
        return self.files.get(path)

    async def tree(self, anima: str) -> dict[str, str]:
        return {p: "" for p in self.files if not p.startswith("archive/")}


@pytest.fixture(scope="module")
def embedder() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder()


@pytest.fixture
def index(tmp_path: Path, embedder: SentenceTransformerEmbedder) -> Iterator[SqliteMemoryIndex]:
    opened = SqliteMemoryIndex(tmp_path / "index", embedder.dimensions, embedder.model_name)
    yield opened
    opened.close()


def _hits(index: SqliteMemoryIndex, embedder: SentenceTransformerEmbedder) -> list[str]:
    query = "printer jams on A3 paper"
    return [h.chunk.path for h in index.search("alice", query, embedder.embed_query(query), limit=5)]


async def test_archive_removes_the_file_and_restore_brings_it_back(
    index: SqliteMemoryIndex, embedder: SentenceTransformerEmbedder
) -> None:
    files = AnimaFiles()
    indexer = Indexer(index, embedder, cast(MemoryClient, files))
    files.files[PRINTER] = TEXT
    await indexer.index_paths("alice", [PRINTER])
    assert PRINTER in _hits(index, embedder)

    files.files = {"archive/" + PRINTER: TEXT}  # memory.archive applied
    await indexer.index_paths("alice", [PRINTER, "archive/" + PRINTER])
    assert _hits(index, embedder) == [] and index.file_digests("alice") == {}

    files.files = {PRINTER: TEXT}  # memory.restore applied
    await indexer.index_paths("alice", ["archive/" + PRINTER, PRINTER])
    assert PRINTER in _hits(index, embedder) and list(index.file_digests("alice")) == [PRINTER]
