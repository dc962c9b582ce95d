"""Priming: the channels A–F run in parallel, each within its share of the message type's budget.

A channel that fails or times out is reported in ``errors``, never silently empty. Every memory
that reaches the prompt is reported to memory-writer as an access (it keeps the statistics).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, timedelta

from animas_contracts import MemoryAccessed, PrimeReply, PrimeRequest, uuid7
from animas_core.broker import EventSink
from animas_core.clock import Clock, system_clock
from animas_core.config import CachedConfig
from animas_core.errors import RetryableError
from animas_core.memory_client import MemoryClient
from animas_priming import notifications
from animas_priming.domain.budget import TokenCounter, channel_budgets, fit, total_budget
from animas_priming.domain.entities import about_someone_else
from animas_priming.domain.message_types import classify
from animas_priming.domain.privacy import OWN_CLOCK, Viewer, episode_visible, shared_entries
from animas_priming.domain.ranking import MemoryStats, rank, relevant
from animas_priming.domain.sections import format_section, memory_line, pointer_lines
from animas_priming.pending import PendingOverlay
from animas_priming.ports import Chunk, Embedder, Hit, MemoryIndex

_log = logging.getLogger(__name__)
PRODUCER = "priming"
QUIET_ACTIVITY = {"cycle_start", "cycle_end", "llm_call", "memory_write", "heartbeat_start", "heartbeat_end"}
"""Activity-log entries that say nothing to the anima about what happened (bookkeeping)."""
RECENT_ENTRIES = 20


async def report_access(publisher: EventSink, anima: str, paths: Sequence[str], channel: str) -> None:
    """Tell memory-writer which memories reached a prompt or a tool result (it counts them)."""
    if paths:
        event_id = uuid7()
        await publisher.publish(
            MemoryAccessed(
                id=event_id,
                anima=anima,
                correlation_id=event_id,
                producer=PRODUCER,
                paths=list(paths),
                channel=channel,
            )
        )


class Recall:
    """What the channels share for one request: the query vector and the memory statistics."""

    def __init__(
        self, anima: str, text: str, vector: list[float] | None, stats: dict[str, MemoryStats]
    ) -> None:
        self.anima = anima
        self.text = text
        self.vector = vector
        self.stats = stats
        self.paths: list[str] = []


class Primer:
    """Serves ``rpc.priming.prime.<anima>``."""

    def __init__(
        self,
        *,
        index: MemoryIndex,
        embedder: Embedder,
        memory: MemoryClient,
        counter: TokenCounter,
        config: CachedConfig,
        publisher: EventSink,
        channel_timeout_s: float,
        pending: PendingOverlay,
        clock: Clock = system_clock,
    ) -> None:
        self._clock = clock
        self._index = index
        self._embedder = embedder
        self._memory = memory
        self._counter = counter
        self._config = config
        self._publisher = publisher
        self._timeout_s = channel_timeout_s
        self._pending = pending

    async def prime(self, anima: str, request: PrimeRequest) -> PrimeReply:
        """Run every channel for one incoming trigger."""
        config = self._config.get()
        message_type = classify(request.text, trigger=request.trigger)
        total = total_budget(message_type, config.priming, request.context_window)
        budgets = channel_budgets(total)
        vector = (
            await asyncio.to_thread(self._embedder.embed_query, request.text)
            if request.text.strip()
            else None
        )
        errors: dict[str, str] = {}
        try:
            stats = {
                m.path: MemoryStats(access_count=m.access_count, last_access=None, importance=m.importance)
                for m in await asyncio.wait_for(self._memory.stats(anima), self._timeout_s)
            }
        except (RetryableError, TimeoutError) as exc:
            # Ranking without access counts is still ranking: say so, and go on.
            stats = {}
            errors["stats"] = f"memory statistics unavailable: {exc}"
        recall = Recall(anima, request.text, vector, stats)
        channels: dict[str, Callable[[], Awaitable[str]]] = {
            "A": lambda: self._sender(recall, request.sender, budgets["A"]),
            "B": lambda: self._recent(recall, viewer_of(request), budgets["B"]),
            "C": lambda: self._knowledge(recall, budgets),
            "D": lambda: self._skills(recall, budgets["D"]),
            "E": lambda: self._tasks(recall, budgets["E"]),
            "F": lambda: self._episodes(recall, viewer_of(request), budgets["F"]),
            notifications.CHANNEL: lambda: notifications.pending_notifications(
                self._memory.read, anima, request.trigger, self._clock(), self._counter
            ),
        }
        results = await asyncio.gather(
            *(asyncio.wait_for(run(), self._timeout_s) for run in channels.values()), return_exceptions=True
        )
        sections: dict[str, str] = {}
        for letter, result in zip(channels, results, strict=True):
            if isinstance(result, TimeoutError):
                errors[letter] = f"timed out after {self._timeout_s:g}s"
            elif isinstance(result, BaseException):
                errors[letter] = f"{type(result).__name__}: {result}"
                _log.warning(
                    "priming channel failed", extra={"anima": anima, "channel": letter, "error": repr(result)}
                )
            elif result:
                sections[letter] = result
        paths = sorted(set(recall.paths))
        await report_access(self._publisher, anima, paths, "priming")
        tokens = sum(self._counter.count(s) for s in sections.values())
        return PrimeReply(
            message_type=message_type.value,
            budget=total,
            sections=sections,
            errors=errors,
            paths=paths,
            tokens=tokens,
        )

    def _search(
        self, recall: Recall, query: str, *, types: Sequence[str], limit: int, important_only: bool = False
    ) -> list[Hit]:
        vector = recall.vector if recall.vector is not None else self._embedder.embed_query(query)
        found = self._index.search(
            recall.anima, query, vector, limit=limit, memory_types=list(types), important_only=important_only
        )
        if important_only:
            return found
        # Read-your-writes: what a cycle just asked to remember counts before it is indexed.
        return sorted(
            [*found, *self._pending.hits(recall.anima, vector, found, types)], key=lambda h: -h.score
        )

    def _ranked(self, recall: Recall, hits: list[Hit]) -> list[Hit]:
        """Hits worth a place in a small prompt: close in meaning, about the right people, ranked."""
        config = self._config.get()
        floor = config.priming.min_similarity
        close = [
            h
            for h in hits
            if h.dense is not None and h.dense >= floor and not about_someone_else(recall.text, h.chunk.text)
        ]
        ranked = rank(
            close, now=time.time(), stats=recall.stats, half_life_days=config.rag.recency_half_life_days
        )
        return [hit for hit, _ in relevant(ranked)]

    def _lines(self, recall: Recall, chunks: Sequence[Chunk], budget: int) -> list[str]:
        lines, _ = fit([memory_line(c) for c in chunks], budget, self._counter)
        recall.paths.extend(c.path for c in chunks[: len(lines)])
        return lines

    async def _sender(self, recall: Recall, sender: str | None, budget: int) -> str:
        if not sender or sender == "human" or sender in OWN_CLOCK:
            return ""
        hits = await asyncio.to_thread(self._search, recall, sender, types=["knowledge"], limit=10)
        about = [h.chunk for h in hits if sender.lower() in h.chunk.text.lower()]
        lines = self._lines(recall, about, budget)
        return format_section(f"What I know about {sender}", lines) if lines else ""

    async def _recent(self, recall: Recall, viewer: Viewer, budget: int) -> str:
        """What the anima did lately, less other people's private conversations (see ``privacy``)."""
        today = self._clock().astimezone(UTC).date()
        entries: list[dict[str, object]] = []
        for day in (today - timedelta(days=1), today):
            text = await self._memory.read(recall.anima, f"activity_log/{day.isoformat()}.jsonl")
            for line in (text or "").splitlines():
                try:
                    entries.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        telling = [e for e in entries if e.get("type") not in QUIET_ACTIVITY]
        shown = shared_entries(telling, viewer)[-RECENT_ENTRIES:]
        lines, _ = fit([_activity_line(e) for e in reversed(shown)], budget, self._counter)
        return format_section("Recent activity", lines) if lines else ""

    async def _knowledge(self, recall: Recall, budgets: dict[str, int]) -> str:
        important = await asyncio.to_thread(
            self._search,
            recall,
            recall.text or "important",
            types=["knowledge"],
            limit=20,
            important_only=True,
        )
        related: list[Hit] = []
        if recall.text.strip():
            related = await asyncio.to_thread(
                self._search, recall, recall.text, types=["knowledge"], limit=20
            )
        seen = {h.chunk.chunk_id for h in important}
        others = [h.chunk for h in self._ranked(recall, related) if h.chunk.chunk_id not in seen]
        # [IMPORTANT] items come first and always, whatever the message (seed 004, channel C).
        lines = self._lines(
            recall, [h.chunk for h in important], budgets.get("C_important", budgets["C"] // 3)
        )
        lines += self._lines(recall, others, budgets["C"] - self._used(lines))
        return format_section("Related knowledge", lines) if lines else ""

    async def _skills(self, recall: Recall, budget: int) -> str:
        if not recall.text.strip():
            return ""
        hits = await asyncio.to_thread(
            self._search, recall, recall.text, types=["skills", "procedures"], limit=10
        )
        chunks = [h.chunk for h in self._ranked(recall, hits)]
        lines, _ = fit(pointer_lines(chunks), budget, self._counter)
        recall.paths.extend(list(dict.fromkeys(c.path for c in chunks))[: len(lines)])
        return format_section("Skills and procedures that may apply", lines) if lines else ""

    async def _tasks(self, recall: Recall, budget: int) -> str:
        text = await self._memory.read(recall.anima, "state/pending.md")
        if not text or "Nothing pending." in text:
            return ""
        lines, _ = fit([line for line in text.splitlines() if line.startswith("- ")], budget, self._counter)
        return format_section("Pending tasks", lines) if lines else ""

    async def _episodes(self, recall: Recall, viewer: Viewer, budget: int) -> str:
        if not recall.text.strip():
            return ""
        hits = await asyncio.to_thread(self._search, recall, recall.text, types=["episodes"], limit=20)
        # Another person's conversation stays theirs (see ``privacy``).
        ranked = self._ranked(recall, hits)
        chunks = [h.chunk for h in ranked if episode_visible(h.chunk.heading, h.chunk.text, viewer)]
        lines = self._lines(recall, chunks, budget)
        return format_section("Similar past episodes", lines) if lines else ""

    def _used(self, lines: Sequence[str]) -> int:
        return sum(self._counter.count(line) for line in lines)


def viewer_of(request: PrimeRequest) -> Viewer:
    """Who the cycle is with, for privacy: the sender, unless it is the anima's own clock."""
    peer = request.sender if request.sender not in OWN_CLOCK else None
    return Viewer(peer=peer, share_across_people=request.share_across_people)


def _activity_line(entry: dict[str, object]) -> str:
    ts = str(entry.get("ts", ""))[11:16]
    who = entry.get("from") or entry.get("to") or ""
    return f"- {ts} {entry.get('type')} {who}: {entry.get('summary', '')}".replace("  ", " ")
