"""The embedded index's vectors in memory stay in step with the file; reads run beside reads and writes."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from animas_priming.adapters.sqlite_index import SqliteMemoryIndex
from animas_priming.chunking import chunk_file

AXES = {"north": [1.0, 0.0, 0.0, 0.0], "east": [0.0, 1.0, 0.0, 0.0], "south": [0.0, 0.0, 1.0, 0.0]}


def upsert(index: SqliteMemoryIndex, anima: str, path: str, *headings: str) -> None:
    """A file of one section per heading, each section's vector the axis its heading names."""
    text = "".join(f"## {heading}\nWalked {heading} today.\n\n" for heading in headings)
    chunks = chunk_file(anima, path, text)
    index.upsert_file(anima, path, "d", chunks, [AXES[c.heading.split()[0]] for c in chunks])


def nearest(index: SqliteMemoryIndex, anima: str, axis: str, limit: int = 10) -> list[str]:
    """Headings by the vector side alone (no keyword text)."""
    return [h.chunk.heading for h in index.search(anima, "", AXES[axis], limit=limit) if (h.dense or 0) > 0.5]


@pytest.fixture
def index(tmp_path: Path) -> Iterator[SqliteMemoryIndex]:
    index = SqliteMemoryIndex(tmp_path / "index", 4, "axes")
    yield index
    index.close()


def test_vectors_in_memory_follow_upserts_deletes_and_drops(index: SqliteMemoryIndex, tmp_path: Path) -> None:
    upsert(index, "alice", "episodes/a.md", "north one", "east one")
    assert nearest(index, "alice", "north") == ["north one"]  # first search: vectors loaded
    upsert(index, "alice", "episodes/b.md", "north two")
    upsert(index, "alice", "episodes/a.md", "south one")  # replaces both sections of a.md
    assert sorted(nearest(index, "alice", "north")) == ["north two"]
    assert nearest(index, "alice", "east") == []
    assert nearest(index, "alice", "south") == ["south one"]
    index.delete_file("alice", "episodes/b.md")
    assert nearest(index, "alice", "north") == []
    index.drop_anima("alice")
    assert nearest(index, "alice", "south") == []
    upsert(index, "alice", "episodes/c.md", "east two")
    assert nearest(index, "alice", "east") == ["east two"]
    reopened = SqliteMemoryIndex(tmp_path / "index", 4, "axes")  # a restart reads them from the file
    assert nearest(reopened, "alice", "east") == ["east two"]
    assert nearest(reopened, "alice", "south") == []
    reopened.close()


def test_many_writes_after_the_vectors_are_loaded_keep_them_exact(index: SqliteMemoryIndex) -> None:
    upsert(index, "alice", "episodes/keep.md", "east kept")
    nearest(index, "alice", "east")
    for round_ in range(300):  # enough replaced rows to make the matrix compact itself
        upsert(index, "alice", "episodes/churn.md", *(f"north {round_}-{i}" for i in range(8)))
    assert sorted(nearest(index, "alice", "north", limit=50)) == sorted(f"north 299-{i}" for i in range(8))
    assert nearest(index, "alice", "east") == ["east kept"]


def test_two_searches_of_one_anima_run_at_the_same_time(tmp_path: Path) -> None:
    # The keyword-term hook runs inside a search's read transaction: two searches must both be
    # inside at once to pass the barrier (one lock per anima would time it out).
    inside = threading.Barrier(2, timeout=10)

    def terms(words: Sequence[str]) -> list[str]:
        inside.wait()
        return list(words)

    index = SqliteMemoryIndex(tmp_path / "index", 4, "axes", keyword_terms=terms)
    upsert(index, "alice", "episodes/a.md", "north one")
    found: list[list[str]] = []
    threads = [
        threading.Thread(target=lambda: found.append(nearest(index, "alice", "north"))) for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert found == [["north one"], ["north one"]]
    index.close()


def test_a_write_lands_while_a_search_is_reading(tmp_path: Path) -> None:
    reading = threading.Event()
    written = threading.Event()

    def terms(words: Sequence[str]) -> list[str]:
        if words:  # the search with words below; vector-only searches pass straight through
            reading.set()
            assert written.wait(timeout=10), "the write waited for the read"
        return list(words)

    index = SqliteMemoryIndex(tmp_path / "index", 4, "axes", keyword_terms=terms)
    upsert(index, "alice", "episodes/a.md", "north one")
    nearest(index, "alice", "north")
    results: list[list[str]] = []
    search = threading.Thread(
        target=lambda: results.append(
            [h.chunk.heading for h in index.search("alice", "walked", AXES["north"], limit=5)]
        )
    )
    search.start()
    assert reading.wait(timeout=10)
    upsert(index, "alice", "episodes/b.md", "east one")  # must not wait for the search to finish
    written.set()
    search.join()
    assert "north one" in results[0]
    assert nearest(index, "alice", "east") == ["east one"]
    index.close()
