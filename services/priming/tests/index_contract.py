"""The behaviour every MemoryIndex promises, as a reusable test base class.

Not collected by itself: a test module subclasses :class:`IndexContract` (as ``Test…``) and
provides two fixtures, ``embedder`` (an Embedder) and ``make_index`` (a callable
``(model_name, dimensions) -> MemoryIndex``; called twice with the same arguments it must open
the *same* stored index, as a restarted service would).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from animas_priming.chunking import chunk_file
from animas_priming.ports import Chunk, Embedder, Hit, MemoryIndex, SearchScope

IndexFactory = Callable[[str, int], MemoryIndex]

GUIDELINES = """---
updated: 2026-02-11
---
# Response Guidelines

## Communication Rules
- [IMPORTANT] Always respond with formal business language to clients.
- See [contacts](knowledge/contacts.md).

## Invoices
Invoices are sent on the 25th of each month through the accounting portal.
"""
EPISODE = """# 2026-02-12 Action Log

## 09:15 Chatwork Unreplied Check
- Trigger: Heartbeat
- Result: Drafted replies to two unanswered messages and obtained approval

## 14:30 Fed the office cat
- The kitten sat on the windowsill watching sparrows in the garden.
"""
DEPLOY = """# Deploying the billing service
1. Run the database migrations with quetzalcoatl-migrate.
2. Restart the workers one by one.
"""
JAPANESE = """# 取引先の連絡先
主な担当者は田中さんです。Slackの設定は月曜日に変更しました。
"""


def embedded(embedder: Embedder, anima: str, path: str, text: str) -> tuple[list[Chunk], list[list[float]]]:
    chunks = chunk_file(anima, path, text)
    return chunks, embedder.embed_passages([c.text for c in chunks])


def put(index: MemoryIndex, embedder: Embedder, anima: str, path: str, text: str, digest: str = "d1") -> int:
    chunks, vectors = embedded(embedder, anima, path, text)
    index.upsert_file(anima, path, digest, chunks, vectors)
    return len(chunks)


def put_corpus(index: MemoryIndex, embedder: Embedder, anima: str = "alice") -> None:
    put(index, embedder, anima, "knowledge/guidelines.md", GUIDELINES)
    put(index, embedder, anima, "episodes/2026-02-12.md", EPISODE)
    put(index, embedder, anima, "procedures/deploy.md", DEPLOY)
    put(index, embedder, anima, "knowledge/contacts-ja.md", JAPANESE)


def find(
    index: MemoryIndex,
    embedder: Embedder,
    anima: str,
    query: str,
    *,
    limit: int = 5,
    memory_types: Sequence[str] | None = None,
    important_only: bool = False,
) -> list[Hit]:
    vector = embedder.embed_query(query)
    return index.search(
        anima, query, vector, limit=limit, memory_types=memory_types, important_only=important_only
    )


class IndexContract:
    """Subclass as ``Test<Adapter>Contract`` and provide ``embedder`` and ``make_index`` fixtures."""

    MODEL = "all-MiniLM-L6-v2"

    @pytest.fixture
    def index(self, make_index: IndexFactory, embedder: Embedder) -> MemoryIndex:
        return make_index(embedder.model_name, embedder.dimensions)

    def test_a_new_anima_is_empty(self, index: MemoryIndex, embedder: Embedder) -> None:
        assert index.count("alice") == 0
        assert index.file_digests("alice") == {}
        assert find(index, embedder, "alice", "anything") == []
        assert index.chunks("alice", ["knowledge/x.md#0"]) == []

    def test_upsert_counts_chunks_and_records_digests(self, index: MemoryIndex, embedder: Embedder) -> None:
        written = put(index, embedder, "alice", "knowledge/guidelines.md", GUIDELINES, "sha256:aa")
        written += put(index, embedder, "alice", "procedures/deploy.md", DEPLOY, "sha256:bb")
        assert written == 3
        assert index.count("alice") == 3
        assert index.file_digests("alice") == {
            "knowledge/guidelines.md": "sha256:aa",
            "procedures/deploy.md": "sha256:bb",
        }

    def test_a_file_without_chunks_still_records_its_digest(self, index: MemoryIndex) -> None:
        index.upsert_file("alice", "knowledge/empty.md", "sha256:00", [], [])
        assert index.count("alice") == 0
        assert index.file_digests("alice") == {"knowledge/empty.md": "sha256:00"}

    def test_upsert_replaces_every_chunk_of_the_file(self, index: MemoryIndex, embedder: Embedder) -> None:
        put(index, embedder, "alice", "knowledge/guidelines.md", GUIDELINES, "v1")
        put(index, embedder, "alice", "knowledge/guidelines.md", "# Invoices\nNow sent on the 1st.\n", "v2")
        assert index.count("alice") == 1
        assert index.file_digests("alice") == {"knowledge/guidelines.md": "v2"}
        assert all(
            "formal" not in h.chunk.text for h in find(index, embedder, "alice", "formal business language")
        )

    def test_mismatched_chunks_and_vectors_are_refused(self, index: MemoryIndex, embedder: Embedder) -> None:
        chunks, vectors = embedded(embedder, "alice", "knowledge/guidelines.md", GUIDELINES)
        with pytest.raises(ValueError):
            index.upsert_file("alice", "knowledge/guidelines.md", "d", chunks, vectors[:1])
        with pytest.raises(ValueError):
            index.upsert_file("bob", "knowledge/guidelines.md", "d", chunks, vectors)
        assert index.count("alice") == index.count("bob") == 0

    def test_delete_file_forgets_its_chunks_and_digest(self, index: MemoryIndex, embedder: Embedder) -> None:
        put_corpus(index, embedder)
        before = index.count("alice")
        index.delete_file("alice", "procedures/deploy.md")
        index.delete_file("alice", "procedures/never-indexed.md")
        assert index.count("alice") == before - 1
        assert "procedures/deploy.md" not in index.file_digests("alice")
        assert all(
            h.chunk.path != "procedures/deploy.md" for h in find(index, embedder, "alice", "quetzalcoatl")
        )

    def test_search_finds_a_rare_keyword(self, index: MemoryIndex, embedder: Embedder) -> None:
        put_corpus(index, embedder)
        hits = find(index, embedder, "alice", "quetzalcoatl")
        assert hits[0].chunk.path == "procedures/deploy.md"
        assert hits[0].keyword is not None
        assert hits[0].keyword > 0

    def test_search_finds_by_meaning_without_shared_words(
        self, index: MemoryIndex, embedder: Embedder
    ) -> None:
        put_corpus(index, embedder)
        hits = find(index, embedder, "alice", "a young feline looking at birds through the glass")
        assert hits[0].chunk.heading == "14:30 Fed the office cat"
        assert hits[0].dense is not None
        assert 0 < hits[0].dense <= 1

    def test_hits_are_best_first_within_the_limit(self, index: MemoryIndex, embedder: Embedder) -> None:
        put_corpus(index, embedder)
        hits = find(index, embedder, "alice", "messages", limit=3)
        assert 0 < len(hits) <= 3
        scores = [h.score for h in hits]
        assert scores == sorted(scores, reverse=True)
        assert len({h.chunk.chunk_id for h in hits}) == len(hits)

    def test_memory_types_filter(self, index: MemoryIndex, embedder: Embedder) -> None:
        put_corpus(index, embedder)
        hits = find(index, embedder, "alice", "messages replies cat", memory_types=["episodes"], limit=10)
        assert hits
        assert {h.chunk.memory_type for h in hits} == {"episodes"}
        both = find(
            index,
            embedder,
            "alice",
            "invoices migrations",
            memory_types=["knowledge", "procedures"],
            limit=10,
        )
        assert {h.chunk.memory_type for h in both} == {"knowledge", "procedures"}
        assert find(index, embedder, "alice", "invoices", memory_types=["skills"]) == []

    def test_important_only_filter(self, index: MemoryIndex, embedder: Embedder) -> None:
        put_corpus(index, embedder)
        hits = find(index, embedder, "alice", "invoices accounting portal", important_only=True, limit=10)
        assert [h.chunk.heading for h in hits] == ["Communication Rules"]

    def test_search_scopes_answer_as_separate_searches(self, index: MemoryIndex, embedder: Embedder) -> None:
        put_corpus(index, embedder)
        query = "invoices for the office cat"
        vector = embedder.embed_query(query)
        scopes = [
            SearchScope(limit=5),
            SearchScope(limit=3, memory_types=("episodes",)),
            SearchScope(limit=5, memory_types=("knowledge",), important_only=True, keywords="formal"),
            SearchScope(limit=5, memory_types=("skills",)),
            SearchScope(limit=0),
        ]
        together = index.search_scopes("alice", query, vector, scopes)
        apart = [
            index.search(
                "alice",
                query if scope.keywords is None else scope.keywords,
                vector,
                limit=scope.limit,
                memory_types=scope.memory_types,
                important_only=scope.important_only,
            )
            for scope in scopes
        ]
        assert together == apart
        assert [len(hits) > 0 for hits in together] == [True, True, True, False, False]
        assert index.search_scopes("nobody", query, vector, scopes) == [[], [], [], [], []]

    def test_japanese_text_is_found_by_a_japanese_query(self, index: MemoryIndex, embedder: Embedder) -> None:
        put_corpus(index, embedder)
        for query in ("田中さん", "設定を変更", "担当者"):
            hits = find(index, embedder, "alice", query)
            assert hits[0].chunk.path == "knowledge/contacts-ja.md", query
            assert hits[0].keyword is not None, query
        mixed = find(index, embedder, "alice", "slack")  # an English word inside a Japanese sentence
        assert mixed[0].chunk.path == "knowledge/contacts-ja.md"

    def test_an_episode_entry_is_found_by_the_words_of_the_entry_before_it(
        self, index: MemoryIndex, embedder: Embedder
    ) -> None:
        # The answer ("a beagle") shares no word with the question; the entry it answers does.
        day = (
            "# 2026-03-02 Action Log\n\n## 10:00 Sam\nWe adopted a puppy from the shelter yesterday!\n\n"
            "## 10:01 Alex\nWhat breed?\n\n## 10:02 Sam\nA beagle, three months old.\n\n"
            "## 10:05 Alex\nThe quarterly tax forms are due on Friday.\n"
        )
        put(index, embedder, "alice", "episodes/2026-03-02.md", day)
        put(index, embedder, "alice", "knowledge/guidelines.md", GUIDELINES)
        keyword = index.search("alice", "shelter", [], limit=5)
        assert [h.chunk.chunk_id for h in keyword] == ["episodes/2026-03-02.md#0", "episodes/2026-03-02.md#1"]
        assert keyword[0].keyword is not None and keyword[1].keyword is not None
        assert keyword[0].keyword > keyword[1].keyword  # its own words weigh more than its context's
        breed = index.search("alice", "breed", [], limit=5)
        assert [h.chunk.chunk_id for h in breed] == ["episodes/2026-03-02.md#1", "episodes/2026-03-02.md#2"]
        assert breed[1].chunk.text.endswith("A beagle, three months old.")

    def test_hostile_query_text_is_searched_literally(self, index: MemoryIndex, embedder: Embedder) -> None:
        put_corpus(index, embedder)
        for query in (
            '"unbalanced',
            "NEAR(a b) AND OR NOT *",
            "col:value ^x -y",
            "'; DROP TABLE chunks; --",
            "   ",
        ):
            find(index, embedder, "alice", query)
        assert index.count("alice") > 0

    def test_hits_carry_every_chunk_field(self, index: MemoryIndex, embedder: Embedder) -> None:
        chunk = Chunk(
            chunk_id="knowledge/vendor.md#0",
            anima="alice",
            path="knowledge/vendor.md",
            memory_type="knowledge",
            heading="Vendor notes",
            text="# Vendor notes\nThe vendor portal password rotates every ninety days.",
            date="2026-01-05",
            importance="important",
            trust="external",
            links=("knowledge/contacts.md", "procedures/deploy.md"),
        )
        index.upsert_file("alice", chunk.path, "d", [chunk], embedder.embed_passages([chunk.text]))
        assert find(index, embedder, "alice", "vendor portal password")[0].chunk == chunk
        assert index.chunks("alice", [chunk.chunk_id]) == [chunk]

    def test_chunks_by_id_in_the_order_asked(self, index: MemoryIndex, embedder: Embedder) -> None:
        put_corpus(index, embedder)
        ids = ["procedures/deploy.md#0", "knowledge/unknown.md#0", "episodes/2026-02-12.md#1"]
        assert [c.chunk_id for c in index.chunks("alice", ids)] == [ids[0], ids[2]]
        assert index.chunks("alice", []) == []

    def test_animas_are_isolated(self, index: MemoryIndex, embedder: Embedder) -> None:
        secret = "# Safe\nThe vault combination is 7-42-19 behind the zanzibar painting.\n"
        put(index, embedder, "alice", "knowledge/safe.md", secret)
        put(index, embedder, "bob", "knowledge/lunch.md", "# Lunch\nSandwiches on Friday.\n")
        for query in ("vault combination zanzibar painting", "safe"):
            assert all(h.chunk.anima == "bob" for h in find(index, embedder, "bob", query, limit=50))
            assert all("zanzibar" not in h.chunk.text for h in find(index, embedder, "bob", query, limit=50))
        assert index.chunks("bob", ["knowledge/safe.md#0"]) == []
        assert index.file_digests("bob") == {"knowledge/lunch.md": "d1"}
        index.delete_file("bob", "knowledge/safe.md")
        assert index.count("alice") == 1

    def test_drop_anima_forgets_only_that_anima(self, index: MemoryIndex, embedder: Embedder) -> None:
        put_corpus(index, embedder, "alice")
        put(index, embedder, "bob", "procedures/deploy.md", DEPLOY)
        index.drop_anima("alice")
        index.drop_anima("carol")  # never indexed: nothing to do
        assert index.count("alice") == 0
        assert index.file_digests("alice") == {}
        assert find(index, embedder, "alice", "quetzalcoatl") == []
        assert find(index, embedder, "bob", "quetzalcoatl")[0].chunk.anima == "bob"
        put(index, embedder, "alice", "procedures/deploy.md", DEPLOY)  # usable again afterwards
        assert index.count("alice") == 1

    def test_reopening_keeps_the_data(self, make_index: IndexFactory, embedder: Embedder) -> None:
        first = make_index(embedder.model_name, embedder.dimensions)
        put_corpus(first, embedder)
        count, digests = first.count("alice"), first.file_digests("alice")
        first.close()
        again = make_index(embedder.model_name, embedder.dimensions)
        assert again.count("alice") == count
        assert again.file_digests("alice") == digests
        assert find(again, embedder, "alice", "quetzalcoatl")[0].chunk.path == "procedures/deploy.md"

    def test_another_model_starts_empty(self, make_index: IndexFactory, embedder: Embedder) -> None:
        first = make_index(embedder.model_name, embedder.dimensions)
        put_corpus(first, embedder)
        first.close()
        other = make_index("some-other-model", 8)
        assert other.count("alice") == 0
        assert other.file_digests("alice") == {}
        vector = [1.0] + [0.0] * 7
        chunks = chunk_file("alice", "procedures/deploy.md", DEPLOY)
        other.upsert_file("alice", "procedures/deploy.md", "d", chunks, [vector])
        assert other.search("alice", "quetzalcoatl", vector, limit=5)[0].chunk.path == "procedures/deploy.md"
