"""Deliberate recall: the search behind the ``search_memory`` tool."""

from __future__ import annotations

import asyncio
import time

from animas_contracts import MemoryReadRequest, SearchHit, SearchReply, SearchRequest
from animas_core.broker import EventSink
from animas_core.config import CachedConfig
from animas_core.memory_client import MemoryClient
from animas_priming.chunking import heading_matcher
from animas_priming.domain.ranking import MemoryStats, rank
from animas_priming.ports import MEMORY_TYPES, Embedder, Hit, MemoryIndex
from animas_priming.primer import report_access

SCOPES = (*MEMORY_TYPES, "activity", "all")
SNIPPET_CHARS = 300


class Searcher:
    """Serves ``rpc.priming.search.<anima>``: ranked hits with paths, dates and snippets."""

    def __init__(
        self,
        *,
        index: MemoryIndex,
        embedder: Embedder,
        memory: MemoryClient,
        config: CachedConfig,
        publisher: EventSink,
    ) -> None:
        self._index = index
        self._embedder = embedder
        self._memory = memory
        self._config = config
        self._publisher = publisher

    async def search(self, anima: str, request: SearchRequest) -> SearchReply:
        """Search one anima's memory; its access is counted like priming's."""
        if request.scope not in SCOPES:
            return SearchReply(error=f"unknown scope {request.scope!r}; use one of {', '.join(SCOPES)}")
        if not request.query.strip():
            return SearchReply(error="empty query")
        limit = max(1, min(request.limit, 50))
        if request.scope == "activity":
            reply = await self._memory.request(
                anima, MemoryReadRequest(op="grep", path="activity_log", pattern=request.query)
            )
            hits = [
                SearchHit(
                    path=m.path,
                    heading=f"line {m.line}",
                    date=m.path[-16:-6],
                    snippet=m.text[:SNIPPET_CHARS],
                    score=1.0,
                )
                for m in reversed(reply.matches)
            ][:limit]
            return SearchReply(hits=hits, error=reply.error)
        types = list(MEMORY_TYPES) if request.scope == "all" else [request.scope]
        # The query's embedding and the index search share one worker-thread hop; the statistics
        # arrive meanwhile.
        found, records = await asyncio.gather(
            asyncio.to_thread(self._find, anima, request.query, types, limit * 2), self._memory.stats(anima)
        )
        stats = {m.path: MemoryStats(access_count=m.access_count, importance=m.importance) for m in records}
        ranked = rank(
            found,
            now=time.time(),
            stats=stats,
            half_life_days=self._config.get().rag.recency_half_life_days,
            heading_match=heading_matcher(request.query),
        )
        hits = [
            SearchHit(
                path=hit.chunk.path,
                heading=hit.chunk.heading,
                date=hit.chunk.date,
                snippet=" ".join(hit.chunk.text.split())[:SNIPPET_CHARS],
                score=round(score, 4),
            )
            for hit, score in ranked[:limit]
        ]
        await report_access(self._publisher, anima, sorted({h.path for h in hits}), "search")
        return SearchReply(hits=hits)

    def _find(self, anima: str, query: str, types: list[str], limit: int) -> list[Hit]:
        vector = self._embedder.embed_query(query)
        return self._index.search(anima, query, vector, limit=limit, memory_types=types)
