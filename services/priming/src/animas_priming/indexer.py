"""Keeping the index a projection of the anima files: on every applied change, and on request."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Sequence

import msgspec
from nats.aio.msg import Msg

from animas_contracts import (
    MemoryOpApplied,
    ReindexReply,
    ReindexRequest,
    validate_anima_name,
)
from animas_contracts.names import InvalidAnimaName
from animas_core.memory_client import MemoryClient
from animas_core.policy import Delivery
from animas_core.provenance import decode_delivered
from animas_priming.chunking import chunk_file
from animas_priming.ports import MEMORY_TYPES, Embedder, MemoryIndex

_log = logging.getLogger(__name__)
INDEXED_PREFIXES = tuple(f"{t}/" for t in MEMORY_TYPES)


class Indexer:
    """Reads changed files through memory-writer, chunks and embeds them, and updates the index."""

    def __init__(self, index: MemoryIndex, embedder: Embedder, memory: MemoryClient) -> None:
        self._index = index
        self._embedder = embedder
        self._memory = memory
        self.lock = asyncio.Lock()
        """One indexing job at a time: embedding is CPU-bound and a reindex must not interleave."""

    async def on_applied(self, data: bytes, delivery: Delivery) -> None:
        """Consumer handler for ``memory.op.applied``: re-index the paths the change touched."""
        event = decode_delivered(delivery.subject, data)
        if isinstance(event, MemoryOpApplied) and event.paths:
            async with self.lock:
                await self.index_paths(event.anima, event.paths)

    async def index_paths(self, anima: str, paths: Sequence[str]) -> int:
        """Bring the given paths of one anima up to date; return the chunks written."""
        written = 0
        for path in paths:
            if not path.startswith(INDEXED_PREFIXES):
                continue
            text = await self._memory.read(anima, path)
            if text is None:  # deleted, or moved to the archive
                await asyncio.to_thread(self._index.delete_file, anima, path)
                continue
            written += await self.index_text(anima, path, text)
        return written

    async def index_text(self, anima: str, path: str, text: str) -> int:
        """Chunk, embed and store one file."""
        chunks = chunk_file(anima, path, text)
        vectors = (
            await asyncio.to_thread(self._embedder.embed_passages, [c.text for c in chunks]) if chunks else []
        )
        digest = "sha256:" + hashlib.sha256(text.encode()).hexdigest()
        await asyncio.to_thread(self._index.upsert_file, anima, path, digest, chunks, vectors)
        return len(chunks)

    async def reindex(self, anima: str) -> tuple[int, int]:
        """Rebuild one anima's index from its files; return (files, chunks)."""
        tree = await self._memory.tree(anima)
        await asyncio.to_thread(self._index.drop_anima, anima)
        chunks = 0
        for path in sorted(tree):
            text = await self._memory.read(anima, path)
            if text is not None:
                chunks += await self.index_text(anima, path, text)
        return len(tree), chunks

    async def on_reindex(self, msg: Msg) -> None:
        """Answer ``rpc.priming.reindex``."""
        try:
            request = msgspec.json.decode(msg.data or b"{}", type=ReindexRequest)
            names = (
                [validate_anima_name(request.anima)]
                if request.anima
                else [a.name for a in await self._memory.animas()]
            )
            files = chunks = 0
            async with self.lock:
                for name in names:
                    f, c = await self.reindex(name)
                    files, chunks = files + f, chunks + c
            reply = ReindexReply(ok=True, animas=names, files=files, chunks=chunks)
        except (msgspec.DecodeError, InvalidAnimaName) as exc:
            reply = ReindexReply(ok=False, error=f"bad reindex request: {exc}")
        except Exception as exc:
            _log.exception("reindex failed")
            reply = ReindexReply(ok=False, error=f"reindex failed: {exc!r}")
        await msg.respond(msgspec.json.encode(reply))
