"""Read-your-writes: a requested write is recallable before the index has it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from animas_contracts import (
    AppendEpisode,
    MemoryOpApplied,
    MemoryOpRequested,
    RecordOutcome,
    WriteKnowledge,
    decode_event,
    encode_event,
)
from animas_contracts.subjects import activity_subject
from animas_priming.pending import PendingOverlay, pending_text

ENV: dict[str, Any] = {"anima": "tanaka", "correlation_id": "c", "producer": "agent-runner"}


class WordsEmbedder:
    """Bag of words over a tiny vocabulary: enough to tell related text from unrelated."""

    VOCAB = ("parking", "level", "visitors", "build", "make", "lunch")
    dimensions = len(VOCAB)
    model_name = "words"

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        return [self.embed_query(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return [float(word in text.lower()) for word in self.VOCAB]


class Msg:
    """A core-NATS message as published: on the subject of the event's own anima and type."""

    def __init__(self, data: bytes) -> None:
        event = decode_event(data)
        self.data = data
        self.subject = activity_subject(event.anima, event.event_type)


def test_pending_text_knows_what_writes_will_say() -> None:
    at = datetime(2026, 2, 12, 9, 0, tzinfo=UTC)
    assert pending_text(WriteKnowledge(path="knowledge/p.md", content="x")) == ("knowledge/p.md", "x")
    path, text = pending_text(
        AppendEpisode(title="Met Sato", at=at, trigger="t", decision="d", result="r")
    ) or ("", "")
    assert path == "episodes/2026-02-12.md" and "## Met Sato" in text
    assert pending_text(RecordOutcome(path="procedures/p.md", success=True)) is None


async def test_a_requested_write_is_found_until_it_is_applied() -> None:
    overlay = PendingOverlay(WordsEmbedder())
    write = MemoryOpRequested(
        id="op-1",
        op=WriteKnowledge(path="knowledge/parking.md", content="# Parking\n- Visitors park on level B2"),
        **ENV,
    )
    await overlay._on_event(Msg(encode_event(write)))  # type: ignore[arg-type]
    query = WordsEmbedder().embed_query("where do visitors park")
    hits = overlay.hits("tanaka", query, [], ["knowledge"])
    assert [h.chunk.path for h in hits] == ["knowledge/parking.md"] and (hits[0].dense or 0) > 0.5
    assert overlay.hits("tanaka", query, [], ["episodes"]) == []
    assert overlay.hits("someone-else", query, [], None) == []

    applied = MemoryOpApplied(
        id="a-1", op_id="op-1", kind="knowledge.write", paths=["knowledge/parking.md"], **ENV
    )
    await overlay._on_event(Msg(encode_event(applied)))  # type: ignore[arg-type]
    assert overlay.size("tanaka") == 0
