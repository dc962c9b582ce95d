"""Priming: one search shared by the channels, the file reads beside it, each channel in its budget.

A prime waits on I/O in one round: the search (query embedding and one index search answering every
channel's scope, one worker-thread hop), memory statistics, recent activity, pending tasks and
notifications all start at once. The sections are then built from what came back, in the prime's
own task. A channel that fails or times out is reported in ``errors``, never silently empty. Every
memory that reaches the prompt is reported to memory-writer as an access (it keeps the statistics).
Background results due to the cycle are read with the rest but recorded as shown last, when nothing
else can fail the prime, and join the task channel even when the pending tasks could not be read.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TypeVar

from animas_contracts import MemoryAccessed, MetaRecord, PrimeReply, PrimeRequest, uuid7
from animas_core.broker import EventSink
from animas_core.clock import Clock, system_clock
from animas_core.config import CachedConfig
from animas_core.errors import RetryableError
from animas_core.memory_client import MemoryClient
from animas_priming import channels, notifications
from animas_priming.background import BackgroundDeliveries, BackgroundResult
from animas_priming.channels import Section
from animas_priming.chunking import heading_matcher
from animas_priming.domain.budget import (
    IMPORTANT_KEY,
    CountCache,
    TokenCounter,
    channel_budgets,
    total_budget,
)
from animas_priming.domain.entities import about_someone_else
from animas_priming.domain.message_types import classify
from animas_priming.domain.privacy import OWN_CLOCK, Viewer
from animas_priming.domain.ranking import MemoryStats, rank, relevant
from animas_priming.notifications import ReadFile
from animas_priming.pending import PendingOverlay
from animas_priming.ports import Embedder, Hit, MemoryIndex, SearchScope
from animas_priming.recent import recent_activity

_log = logging.getLogger(__name__)
_T = TypeVar("_T")
PRODUCER = "priming"
SECTION_ORDER = ("A", "B", "C", "D", "E", "F", notifications.CHANNEL)


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
        self._background = BackgroundDeliveries(
            publisher, lambda: timedelta(hours=self._config.get().background_task.result_retention_hours)
        )

    async def prime(self, anima: str, request: PrimeRequest) -> PrimeReply:
        """Run every channel for one incoming trigger."""
        config = self._config.get()
        message_type = classify(request.text, trigger=request.trigger)
        total = total_budget(message_type, config.priming, request.context_window)
        budgets = channel_budgets(total)
        counter = CountCache(self._counter)
        viewer = viewer_of(request)
        now = self._clock()
        scopes = channels.search_scopes(request)
        read = _shared_reads(self._memory.read)  # the activity-log days are read once per prime
        search, stats, recent, tasks, notes, finished = await asyncio.gather(
            self._bounded(asyncio.to_thread(self._search, anima, request.text, scopes)),
            self._bounded(self._memory.stats(anima)),
            self._bounded(
                recent_activity(
                    read,
                    anima,
                    now=now,
                    config=config,
                    viewer=viewer,
                    budget=budgets["B"],
                    counter=counter,
                )
            ),
            self._bounded(self._memory.read(anima, "state/pending.md")),
            self._bounded(notifications.pending_notifications(read, anima, request.trigger, now, counter)),
            self._bounded(self._background.due(read, anima, request.cycle_id, now)),
            return_exceptions=True,
        )
        errors: dict[str, str] = {}
        if isinstance(stats, RetryableError | TimeoutError):
            errors["stats"] = f"memory statistics unavailable: {stats}"  # ranking goes on without counts
        elif isinstance(stats, BaseException):
            raise stats
        by_path = _stats(stats if isinstance(stats, list) else [])
        built: dict[str, Section | BaseException] = {
            "B": recent,
            "E": tasks
            if isinstance(tasks, BaseException)
            else channels.tasks_section(tasks, budgets["E"], counter),
            notifications.CHANNEL: notes
            if isinstance(notes, BaseException)
            else Section(notes, counter.count(notes) if notes else 0),
        }
        if isinstance(search, BaseException):
            built.update({letter: search for letter in ("A", "C", "D", "F") if letter in scopes})
        else:
            built.update(self._search_sections(request, search, by_path, viewer, budgets, counter))
        sections: dict[str, str] = {}
        paths: set[str] = set()
        tokens = 0
        for letter in SECTION_ORDER:
            result = built.get(letter)
            if isinstance(result, BaseException):
                errors[letter] = self._failure(anima, letter, result)
            elif result is not None and result.text:
                sections[letter] = result.text
                tokens += result.tokens
                paths.update(result.paths)
        await report_access(self._publisher, anima, sorted(paths), "priming")
        # Last, once nothing else can fail the prime: what is recorded as shown is in the reply.
        results = await self._background_results(anima, request.cycle_id, finished, now, counter)
        if results:
            sections["E"] = f"{sections['E']}\n\n{results}" if "E" in sections else results
            sections = {letter: sections[letter] for letter in SECTION_ORDER if letter in sections}
            tokens += counter.count(results)
        return PrimeReply(
            message_type=message_type.value,
            budget=total,
            sections=sections,
            errors=errors,
            paths=sorted(paths),
            tokens=tokens,
        )

    def _search(self, anima: str, text: str, scopes: Mapping[str, SearchScope]) -> dict[str, list[Hit]]:
        """Embed the message once and answer every channel's scope with one index search."""
        vector = self._embedder.embed_query(text) if text.strip() else []
        found = self._index.search_scopes(anima, text, vector, list(scopes.values()))
        hits: dict[str, list[Hit]] = {}
        for (letter, scope), part in zip(scopes.items(), found, strict=True):
            if scope.important_only or not vector:
                hits[letter] = part
                continue
            # Read-your-writes: what a cycle just asked to remember counts before it is indexed.
            types = scope.memory_types
            extra = self._pending.hits(anima, vector, part, types)
            hits[letter] = sorted([*part, *extra], key=lambda h: -h.score) if extra else part
        return hits

    def _search_sections(
        self,
        request: PrimeRequest,
        hits: dict[str, list[Hit]],
        stats: dict[str, MemoryStats],
        viewer: Viewer,
        budgets: dict[str, int],
        counter: TokenCounter,
    ) -> dict[str, Section]:
        built: dict[str, Section] = {}
        if "A" in hits and request.sender:
            built["A"] = channels.sender_section(hits["A"], request.sender, budgets["A"], counter)
        related = self._ranked(request.text, hits.get("C", []), stats)
        built["C"] = channels.knowledge_section(hits.get(IMPORTANT_KEY, []), related, budgets, counter)
        if "D" in hits:
            ranked = self._ranked(request.text, hits["D"], stats)
            built["D"] = channels.skills_section(ranked, budgets["D"], counter)
        if "F" in hits:
            ranked = self._ranked(request.text, hits["F"], stats)
            built["F"] = channels.episodes_section(ranked, viewer, budgets["F"], counter)
        return built

    def _ranked(self, text: str, hits: list[Hit], stats: dict[str, MemoryStats]) -> list[Hit]:
        """Hits worth a place in a small prompt: close in meaning, about the right people, ranked.

        A hit the keyword side alone found (no similarity) shares a content word with the message
        and stays: dropping those cost recall on LoCoMo's dev half (docs/benchmarks.md).
        """
        if not hits:
            return []
        config = self._config.get()
        floor = config.priming.min_similarity
        close = [
            h
            for h in hits
            if (h.dense is None or h.dense >= floor) and not about_someone_else(text, h.chunk.text)
        ]
        ranked = rank(
            close,
            now=self._clock().timestamp(),
            stats=stats,
            half_life_days=config.rag.recency_half_life_days,
            heading_match=heading_matcher(text),
        )
        return [hit for hit, _ in relevant(ranked)]

    async def _background_results(
        self,
        anima: str,
        cycle_id: str | None,
        due: list[BackgroundResult] | BaseException,
        now: datetime,
        counter: TokenCounter,
    ) -> str:
        """The background results for the task channel (even if the pending tasks could not be read)."""
        if isinstance(due, BaseException):
            _log.warning("background results unavailable", extra={"error": repr(due)})
            return ""
        if cycle_id is None or not due:
            return ""
        return await self._background.record(anima, cycle_id, due, now, counter, self._timeout_s)

    async def _bounded(self, work: Awaitable[_T]) -> _T:
        return await asyncio.wait_for(work, self._timeout_s)

    def _failure(self, anima: str, letter: str, error: BaseException) -> str:
        if isinstance(error, TimeoutError):
            return f"timed out after {self._timeout_s:g}s"
        _log.warning(
            "priming channel failed", extra={"anima": anima, "channel": letter, "error": repr(error)}
        )
        return f"{type(error).__name__}: {error}"


def _shared_reads(read: ReadFile) -> ReadFile:
    """``read`` with each (anima, path) read once: channels that read the same file share it."""
    started: dict[tuple[str, str], asyncio.Task[str | None]] = {}

    async def once(anima: str, path: str) -> str | None:
        key = (anima, path)
        if key not in started:
            started[key] = asyncio.ensure_future(read(anima, path))
        return await asyncio.shield(started[key])

    return once


def _stats(records: Sequence[MetaRecord]) -> dict[str, MemoryStats]:
    return {
        m.path: MemoryStats(access_count=m.access_count, last_access=None, importance=m.importance)
        for m in records
    }


def viewer_of(request: PrimeRequest) -> Viewer:
    """Who the cycle is with, for privacy: the sender, unless it is the anima's own clock."""
    peer = request.sender if request.sender not in OWN_CLOCK else None
    return Viewer(peer=peer, share_across_people=request.share_across_people)
