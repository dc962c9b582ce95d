"""Read-your-writes: memory changes asked for but not yet applied are already recallable.

memory-writer applies changes in stream order; the index follows each applied change. Between a
cycle asking for a write and the index catching up, this overlay holds the new text (from the
``memory.op.requested`` event itself), so priming and search see it at once (seed 001). An entry
leaves the overlay when memory-writer answers, applied or rejected. It lives in memory only: after
a restart the index has caught up, or soon will.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Sequence

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from animas_contracts import (
    AppendEpisode,
    ContractError,
    MemoryOpApplied,
    MemoryOpRejected,
    MemoryOpRequested,
    WriteFile,
    WriteKnowledge,
    WriteProcedure,
)
from animas_core.episodes import episode_entry
from animas_core.provenance import decode_delivered
from animas_priming.chunking import chunk_file
from animas_priming.domain.fusion import dense_only_score
from animas_priming.ports import Chunk, Embedder, Hit

_log = logging.getLogger(__name__)


def pending_text(op: object) -> tuple[str, str] | None:
    """(path, text) an operation will write, for the kinds whose text is known in advance."""
    match op:
        case WriteKnowledge() | WriteProcedure() | WriteFile():
            return op.path, op.content
        case AppendEpisode():
            day = op.at.date().isoformat()
            return f"episodes/{day}.md", f"# {day} Action Log\n\n{episode_entry(op, None)}"
    return None


class PendingOverlay:
    """Chunks of requested, not yet applied, memory writes, with their vectors, per anima."""

    def __init__(self, embedder: Embedder) -> None:
        self._embedder = embedder
        self._pending: dict[str, dict[str, list[tuple[Chunk, list[float]]]]] = {}
        self._subs: list[Subscription] = []

    async def start(self, nc: Client) -> None:
        """Follow requests and answers on core NATS (nothing durable: the index is the record)."""
        self._subs.append(await nc.subscribe("activity.*.memory.op.requested", cb=self._on_event))
        self._subs.append(await nc.subscribe("activity.*.memory.op.applied", cb=self._on_event))
        self._subs.append(await nc.subscribe("activity.*.memory.op.rejected", cb=self._on_event))

    async def stop(self) -> None:
        """Unsubscribe."""
        for sub in self._subs:
            await sub.unsubscribe()

    async def _on_event(self, msg: Msg) -> None:
        try:
            event = decode_delivered(msg.subject, msg.data)
        except ContractError:
            return
        if isinstance(event, MemoryOpRequested):
            found = pending_text(event.op)
            if found is None:
                return
            path, text = found
            chunks = chunk_file(event.anima, path, text)
            if chunks:
                vectors = await asyncio.to_thread(self._embedder.embed_passages, [c.text for c in chunks])
                self._pending.setdefault(event.anima, {})[event.id] = list(zip(chunks, vectors, strict=True))
        elif isinstance(event, MemoryOpApplied | MemoryOpRejected):
            self._pending.get(event.anima, {}).pop(event.op_id, None)

    def hits(
        self, anima: str, vector: Sequence[float], found: Sequence[Hit], memory_types: Sequence[str] | None
    ) -> list[Hit]:
        """Pending chunks as hits, scored where they would stand among ``found`` by similarity."""
        extra: list[Hit] = []
        for entries in self._pending.get(anima, {}).values():
            for chunk, chunk_vector in entries:
                if memory_types is not None and chunk.memory_type not in memory_types:
                    continue
                dense = _cosine(vector, chunk_vector)
                # On the search's own scale: what its fusion gives a match by meaning alone.
                score = dense_only_score(dense, [h.dense for h in found if h.dense is not None])
                extra.append(Hit(chunk=chunk, score=score, dense=dense))
        return extra

    def size(self, anima: str) -> int:
        """How many operations of an anima are pending."""
        return len(self._pending.get(anima, {}))


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=False))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0
