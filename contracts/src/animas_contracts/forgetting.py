"""Forgetting (seed 004, DESIGN §6): low-activity marks and the tombstones of forgotten memories.

Daily downscaling publishes ``forgetting.downscaled``: the chunks whose activity fell low, each
with the day it has been low since. memory-writer keeps the marks in the anima's database (the
Markdown is never rewritten for them) and clears a mark when the memory is recalled or restored.
Complete forgetting archives a memory with a ``memory.archive`` operation, then records
``forgetting.forgotten``, the tombstone that says why. Both are replayed by a rebuild, which
therefore keeps forgotten memories forgotten; ``anima restore`` brings one back.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from animas_contracts.envelope import Event
from animas_contracts.memory import RelPath


class LowActivityMark(msgspec.Struct, frozen=True, kw_only=True):
    """One chunk whose activity is low, and since when."""

    path: RelPath
    since: Annotated[str, Meta(description="The day (YYYY-MM-DD) its activity has been low since.")]


class ForgettingDownscaled(Event, frozen=True, kw_only=True, tag="forgetting.downscaled"):
    """Daily downscaling: chunks marked as low-activity (memory-writer keeps the marks)."""

    run_id: Annotated[str, Meta(description="The consolidation run that marked them.")]
    date: Annotated[str, Meta(description="The day of the run (YYYY-MM-DD), the clock it compared with.")]
    marks: Annotated[list[LowActivityMark], Meta(description="Newly marked chunks.")] = msgspec.field(
        default_factory=list
    )


class MemoryForgotten(Event, frozen=True, kw_only=True, tag="forgetting.forgotten"):
    """The tombstone of a memory that was archived by complete forgetting, with the reason."""

    run_id: Annotated[str, Meta(description="The consolidation run that forgot it.")]
    path: RelPath
    archived_to: Annotated[str, Meta(description="Where the file is now (under archive/).")]
    reason: Annotated[str, Meta(description="Why it was forgotten, in words.")]
    low_since: Annotated[str, Meta(description="The day its activity has been low since.")]
    access_count: Annotated[int, Meta(ge=0, description="Accesses counted when it was forgotten.")] = 0
