"""Forgetting in the daily run (seed 004): downscaling marks, then complete forgetting.

After the day is consolidated, the anima's knowledge and procedures are weighed against their
access statistics (memory-writer's ``stats`` read) on the run's day, never the wall clock:

1. *Daily downscaling* publishes one ``forgetting.downscaled`` with the newly low chunks;
   memory-writer keeps the marks in anima.db.
2. *Complete forgetting* asks memory-writer to archive each chunk low long enough
   (``memory.archive``, which priming answers by dropping the file from the index), then
   records the tombstone ``forgetting.forgotten`` with the reason.

Every event derives its id from the run and the path, so a redelivered run asks for nothing
twice. Weekly reorganisation gets the low-activity chunks from :meth:`Forgetting.low_activity`.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import date
from typing import Protocol

from animas_consolidator.domain.forgetting import (
    Forget,
    ForgettingRules,
    Memory,
    downscale,
    is_forgettable_path,
    low_activity,
    to_forget,
)
from animas_consolidator.domain.records import RunRef
from animas_consolidator.ports import MemoryOps
from animas_contracts import (
    ArchiveMemory,
    ForgettingDownscaled,
    MemoryForgotten,
    MemoryOpRequested,
    MetaRecord,
)
from animas_core.broker import EventSink
from animas_core.config_model import ConsolidationConfig
from animas_core.errors import RetryableError

_log = logging.getLogger(__name__)
ARCHIVE = "archive/"


class ForgettingFiles(Protocol):
    """The anima's memory files and their statistics, through memory-writer."""

    async def read(self, anima: str, path: str) -> str | None: ...

    async def tree(self, anima: str) -> dict[str, str]: ...

    async def stats(self, anima: str) -> list[MetaRecord]: ...


@dataclasses.dataclass(frozen=True)
class ForgettingOutcome:
    """What one run's forgetting did."""

    marked: list[str]
    forgotten: list[str]
    refused: list[str]


class Forgetting:
    """Downscales and forgets one anima's memories as of a run's day."""

    def __init__(self, files: ForgettingFiles, ops: MemoryOps, publisher: EventSink) -> None:
        self._files = files
        self._ops = ops
        self._publisher = publisher

    async def memories(self, anima: str) -> list[Memory]:
        """The anima's forgettable files with their statistics."""
        stats = {record.path: record for record in await self._files.stats(anima)}
        out = []
        for path in sorted(await self._files.tree(anima)):
            if not is_forgettable_path(path):
                continue
            text = await self._files.read(anima, path)
            if text is not None:
                out.append(Memory(path=path, text=text, meta=stats.get(path) or MetaRecord(path=path)))
        return out

    async def low_activity(self, anima: str, day: date, config: ConsolidationConfig) -> list[Memory]:
        """The low-activity chunks on ``day``: what weekly reorganisation may merge."""
        return low_activity(await self.memories(anima), day, ForgettingRules.of(config))

    async def run(self, ref: RunRef, day: date, config: ConsolidationConfig) -> ForgettingOutcome:
        """Stage 1 and 3 for the run's anima on the run's day."""
        anima, rules = ref.due.anima, ForgettingRules.of(config)
        memories = await self.memories(anima)
        marks = downscale(memories, day, rules)
        if marks:
            await self._publisher.publish(
                ForgettingDownscaled(
                    **ref.envelope("forgetting", "downscaled"),
                    run_id=ref.run_id,
                    date=day.isoformat(),
                    marks=marks,
                )
            )
        forgotten, refused = [], []
        for forget in to_forget(memories, day, rules):
            reason = await self._forget(ref, forget)
            if reason is None:
                forgotten.append(forget.path)
            else:
                refused.append(f"forget {forget.path}: memory-writer refused: {reason}")
        if marks or forgotten or refused:
            _log.info(
                "forgetting",
                extra={"anima": anima, "marked": len(marks), "forgotten": forgotten, "refused": refused},
            )
        return ForgettingOutcome([m.path for m in marks], forgotten, refused)

    async def _forget(self, ref: RunRef, forget: Forget) -> str | None:
        """Archive one memory, then record its tombstone; why memory-writer refused, or None."""
        request = MemoryOpRequested(
            **ref.envelope("forgetting", "archive", forget.path), op=ArchiveMemory(path=forget.path)
        )
        outcome = await self._ops.apply(request)
        if outcome.applied is None:
            raise RetryableError(
                f"memory-writer has not confirmed forgetting {forget.path} (run {ref.run_id})"
            )
        if outcome.applied is False:
            return outcome.reason
        await self._publisher.publish(
            MemoryForgotten(
                **ref.envelope("forgetting", "forgotten", forget.path),
                run_id=ref.run_id,
                path=forget.path,
                archived_to=ARCHIVE + forget.path,
                reason=forget.reason,
                low_since=forget.low_since.isoformat(),
                access_count=forget.access_count,
            )
        )
        return None
