"""Keeping the index a projection of the anima files: on every applied change, and on request.

Changes arrive in batches (each activity partition's ready events at once, see ``app.py``). A
batch is coalesced to the files it touched, each read once; a file whose content the index
already holds is skipped, and of the others only chunks whose text is new are embedded, every
file's in one call, shared with the other partitions' (:mod:`animas_priming.embed_batcher`);
:mod:`animas_priming.vector_cache` keeps the vectors of the rest. The work per chat is then
the chat's own entry, not its whole day.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

import msgspec
from nats.aio.msg import Msg

from animas_contracts import MemoryOpApplied, ReindexReply, ReindexRequest, validate_anima_name
from animas_contracts.names import InvalidAnimaName
from animas_core.errors import RetryableError
from animas_core.memory_client import MemoryClient
from animas_core.provenance import decode_delivered
from animas_priming.chunking import chunk_file
from animas_priming.embed_batcher import EmbeddingBatcher
from animas_priming.ports import MEMORY_TYPES, Chunk, Embedder, MemoryIndex
from animas_priming.vector_cache import Vector, VectorCache, text_digest

_log = logging.getLogger(__name__)
INDEXED_PREFIXES = tuple(f"{t}/" for t in MEMORY_TYPES)
CATCH_UP_FILES = 32
"""Files read and embedded together while catching up (a whole anima at once may be large)."""


class Delivered(Protocol):
    """What the indexer reads of a delivered message (any :class:`~animas_core.policy.Delivery`)."""

    @property
    def subject(self) -> str: ...
    @property
    def data(self) -> bytes: ...


def coalesce(events: Iterable[MemoryOpApplied]) -> dict[str, list[str]]:
    """The indexed paths each anima's changes touched, each once, in the order first touched."""
    touched: dict[str, dict[str, None]] = {}
    for event in events:
        paths = touched.setdefault(event.anima, {})
        paths.update(dict.fromkeys(p for p in event.paths if p.startswith(INDEXED_PREFIXES)))
    return {anima: list(paths) for anima, paths in touched.items() if paths}


def file_digest(text: str) -> str:
    """The digest the index records for a file's content (unchanged content is not re-indexed)."""
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


@dataclasses.dataclass
class _FileUpdate:
    """One file to write: its chunks, and their vectors as far as they are known."""

    anima: str
    path: str
    digest: str
    chunks: list[Chunk]
    keys: list[str]
    vectors: list[Vector | list[float] | None]


class Indexer:
    """Reads changed files through memory-writer, embeds their new chunks and updates the index."""

    def __init__(
        self,
        index: MemoryIndex,
        embedder: Embedder,
        memory: MemoryClient,
        *,
        cache: VectorCache | None = None,
    ) -> None:
        self._index = index
        self._embedder = EmbeddingBatcher(embedder)
        self._memory = memory
        self._cache = cache or VectorCache()
        self._locks: dict[str, asyncio.Lock] = {}
        """Per anima: a batch and a reindex of the same anima never interleave."""

    async def on_applied(self, delivery: Delivered) -> None:
        """One ``memory.op.applied`` alone (when its batch failed): re-index the paths it touched."""
        await self.index_changes(coalesce(_applied([delivery])))

    async def on_applied_batch(self, deliveries: Sequence[Delivered]) -> None:
        """A batch of ``memory.op.applied``: every file they touched, once."""
        await self.index_changes(coalesce(_applied(deliveries)))

    async def index_paths(self, anima: str, paths: Sequence[str]) -> int:
        """Bring the given paths of one anima up to date; return the chunks written."""
        return await self.index_changes({anima: list(paths)})

    async def index_changes(self, changes: Mapping[str, Sequence[str]]) -> int:
        """Bring the given paths of each anima up to date; return the chunks written."""
        animas = sorted(changes)
        async with contextlib.AsyncExitStack() as held:
            for anima in animas:  # in name order, so two batches never wait on each other
                await held.enter_async_context(self._lock(anima))
            updates: list[_FileUpdate] = []
            for anima in animas:
                updates += await self._changed_files(anima, changes[anima])
            await self._write(updates)
        return sum(len(u.chunks) for u in updates)

    async def reindex(self, anima: str) -> tuple[int, int]:
        """Rebuild one anima's index from its files; return (files, chunks)."""
        async with self._lock(anima):
            tree = await self._memory.tree(anima)
            self._cache.forget_anima(anima)
            await asyncio.to_thread(self._index.drop_anima, anima)
            chunks = 0
            for path in sorted(tree):  # file by file: a whole anima's vectors at once may be large
                text = await self._memory.read(anima, path)
                if text is not None:
                    update = self._plan(anima, path, text)
                    await self._write([update])
                    chunks += len(update.chunks)
            return len(tree), chunks

    async def catch_up(self, anima: str) -> int:
        """Index what changed while nobody indexed it; return how many files were stale.

        The index is compared with memory-writer's digests of the files, so a schema or
        embedding-model change (which empties an index file on open), events that expired
        unread, or a lost index folder all repair themselves without a full rebuild.
        """
        tree = {p: d for p, d in (await self._memory.tree(anima)).items() if p.startswith(INDEXED_PREFIXES)}
        indexed = await asyncio.to_thread(self._index.file_digests, anima)
        stale = sorted(p for p in tree.keys() | indexed.keys() if tree.get(p) != indexed.get(p))
        for start in range(0, len(stale), CATCH_UP_FILES):
            await self.index_paths(anima, stale[start : start + CATCH_UP_FILES])
        return len(stale)

    async def catch_up_all(self, *, attempts: int = 30, wait_s: float = 2.0) -> None:
        """:meth:`catch_up` for every anima, once memory-writer answers (priming's start-up)."""
        for attempt in range(attempts):
            try:
                names = [a.name for a in await self._memory.animas()]
                break
            except RetryableError:
                if attempt == attempts - 1:
                    _log.warning("index catch-up skipped: memory-writer did not answer")
                    return
                await asyncio.sleep(wait_s)
        for name in names:
            try:
                stale = await self.catch_up(name)
            except Exception:  # one anima's failure must not keep the others' index stale
                _log.exception("index catch-up failed", extra={"anima": name})
                continue
            if stale:
                _log.info("index caught up", extra={"anima": name, "files": stale})

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

    def _lock(self, anima: str) -> asyncio.Lock:
        return self._locks.setdefault(anima, asyncio.Lock())

    async def _changed_files(self, anima: str, paths: Sequence[str]) -> list[_FileUpdate]:
        """The files whose content differs from what the index holds; deleted ones leave the index."""
        wanted = [p for p in dict.fromkeys(paths) if p.startswith(INDEXED_PREFIXES)]
        if not wanted:
            return []
        indexed = await asyncio.to_thread(self._index.file_digests, anima)
        texts = await asyncio.gather(*(self._memory.read(anima, path) for path in wanted))
        updates = []
        for path, text in zip(wanted, texts, strict=True):
            if text is None:  # deleted, or moved to the archive
                self._cache.forget(anima, path)
                await asyncio.to_thread(self._index.delete_file, anima, path)
            elif indexed.get(path) != file_digest(text):
                updates.append(self._plan(anima, path, text))
        return updates

    def _plan(self, anima: str, path: str, text: str) -> _FileUpdate:
        chunks = chunk_file(anima, path, text)
        keys = [text_digest(c.text) for c in chunks]
        known = self._cache.lookup(anima, path)
        vectors: list[Vector | list[float] | None] = [known.get(key) for key in keys]
        return _FileUpdate(anima, path, file_digest(text), chunks, keys, vectors)

    async def _write(self, updates: Sequence[_FileUpdate]) -> None:
        """Embed every unknown chunk of the updates in one call, then write each file."""
        missing = [(u, i) for u in updates for i, v in enumerate(u.vectors) if v is None]
        if missing:
            texts = [u.chunks[i].text for u, i in missing]
            fresh = await self._embedder.embed_passages(texts)  # with other partitions' texts
            for (update, i), vector in zip(missing, fresh, strict=True):
                update.vectors[i] = vector
        for u in updates:
            vectors = [v for v in u.vectors if v is not None]
            await asyncio.to_thread(self._index.upsert_file, u.anima, u.path, u.digest, u.chunks, vectors)
            self._cache.remember(u.anima, u.path, u.keys, vectors)


def _applied(deliveries: Iterable[Delivered]) -> list[MemoryOpApplied]:
    events = (decode_delivered(d.subject, d.data) for d in deliveries)
    return [e for e in events if isinstance(e, MemoryOpApplied) and e.paths]
