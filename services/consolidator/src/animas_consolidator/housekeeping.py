"""Housekeeping in the daily run (#13 item 8): retention of saved sessions and conversation archives.

After the day is consolidated and forgetting has run, the anima's saved sessions beyond the
newest ``housekeeping.shortterm_archive_keep`` are deleted and its conversation archives lose
the turns older than ``housekeeping.conversation_archive_days``. Each is a
``memory.op.requested`` from the consolidator (``memory.delete``, ``conversation.archive.trim``)
whose id derives from the run and the path, so a redelivered run asks for nothing twice and a
rebuild from the stream deletes and trims the same. The rules are in
:mod:`animas_consolidator.domain.housekeeping`; DELTAS and BODIES retention are stream settings
the operator's provisioning applies (:mod:`animas_core.streams`).
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import date
from zoneinfo import ZoneInfo

from animas_consolidator.domain.housekeeping import (
    CONVERSATIONS,
    SAVED_SESSIONS,
    conversation_cutoff,
    is_conversation_archive,
    saved_sessions_past_keeping,
    turns_before,
)
from animas_consolidator.domain.records import RunRef
from animas_consolidator.ports import AnimaFiles, MemoryOps
from animas_contracts import DeleteSavedSession, MemoryOp, MemoryOpRequested, TrimConversationArchive
from animas_core.config import HousekeepingConfig
from animas_core.errors import RetryableError

_log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class HousekeepingOutcome:
    """What one run's housekeeping deleted, trimmed, and what memory-writer refused."""

    deleted: list[str]
    trimmed: list[str]
    refused: list[str]


class Housekeeping:
    """Applies the retention rules to one anima as of a run's day."""

    def __init__(self, files: AnimaFiles, ops: MemoryOps) -> None:
        self._files = files
        self._ops = ops

    async def run(
        self, ref: RunRef, day: date, zone: ZoneInfo, config: HousekeepingConfig
    ) -> HousekeepingOutcome:
        """Delete the saved sessions past keeping and trim the conversation archives."""
        anima = ref.due.anima
        deleted, trimmed, refused = [], [], []
        names = await self._files.listing(anima, SAVED_SESSIONS)
        keep = config.shortterm_archive_keep
        for name in saved_sessions_past_keeping(names, keep):
            path = SAVED_SESSIONS + name
            reason = f"retention keeps the newest {keep} saved sessions"
            op = DeleteSavedSession(path=path, reason=reason)
            why_not = await self._ask(ref, "delete", path, op)
            if why_not is None:
                deleted.append(path)
            else:
                refused.append(f"delete {path}: {why_not}")
        cutoff = conversation_cutoff(day, zone, config.conversation_archive_days)
        if cutoff is not None:
            for name in await self._files.listing(anima, CONVERSATIONS):
                path = CONVERSATIONS + name
                if not is_conversation_archive(name):
                    continue
                text = await self._files.read(anima, path)
                # An archive too large to read through memory-writer is trimmed all the same:
                # memory-writer reads it from disk, and a trim that drops nothing changes nothing.
                if text is not None and not turns_before(text, cutoff):
                    continue
                op_trim = TrimConversationArchive(path=path, before=cutoff)
                why_not = await self._ask(ref, "trim", path, op_trim)
                if why_not is None:
                    trimmed.append(path)
                else:
                    refused.append(f"trim {path}: {why_not}")
        if deleted or trimmed or refused:
            _log.info(
                "housekeeping",
                extra={"anima": anima, "deleted": len(deleted), "trimmed": trimmed, "refused": refused},
            )
        return HousekeepingOutcome(deleted, trimmed, refused)

    async def _ask(self, ref: RunRef, action: str, path: str, op: MemoryOp) -> str | None:
        """Ask memory-writer for one operation; why it refused, or None when applied."""
        request = MemoryOpRequested(**ref.envelope("housekeeping", action, path), op=op)
        outcome = await self._ops.apply(request)
        if outcome.applied is None:
            # Unconfirmed: the whole run is retried; what was applied is not redone (derived ids).
            raise RetryableError(
                f"memory-writer has not confirmed housekeeping {action} {path} (run {ref.run_id})"
            )
        if outcome.applied is False:
            return f"memory-writer refused: {outcome.reason}"
        return None
