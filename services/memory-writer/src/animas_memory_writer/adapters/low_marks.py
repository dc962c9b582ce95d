"""Low-activity marks (forgetting, seed 004): kept in the anima's database, never in the Markdown.

Daily downscaling publishes ``forgetting.downscaled``; its marks are stored once per event (a
redelivery or a rebuild stores the same marks). A recall clears a mark (see the applier), so does
archiving; a restore clears it too and counts as a recall at the time of the restore, so the
restored memory starts its low-activity clock afresh instead of being forgotten again at once.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from animas_contracts import ForgettingDownscaled
from animas_memory_writer.adapters.anima_db import AnimaDb
from animas_memory_writer.memory import rules
from animas_memory_writer.memory.rules import Rejected

DOWNSCALED = "forgetting.downscaled"


def apply_downscaled(event: ForgettingDownscaled, db: AnimaDb) -> None:
    """Store the event's marks, once; paths that are not clean memory paths are skipped."""
    if db.op(event.id) is not None:
        return
    with db.transaction():
        for mark in event.marks:
            try:
                path = rules.normalize(mark.path)
            except Rejected:
                continue
            db.mark_low(path, mark.since)
        db.finish_op(event.id, DOWNSCALED, "applied", "")


def restored(db: AnimaDb, path: str, at: datetime) -> None:
    """A memory back from the archive: no mark, and its last recall is now."""
    with db.transaction():
        db.clear_low(path)
        db.put_meta(msgspec.structs.replace(db.meta(path), last_access=at.isoformat(timespec="seconds")))
