"""Identity grows only through consolidation (seed 003 §4, issue #13 item 6).

A daily consolidation may propose a revision of identity.md, backed by citations of the day's
source lines. A small change (at most ``limit`` changed lines) is applied at once as
``identity.revised`` (author "consolidation"); a larger one is refused and recorded as
``identity.proposed``, which waits until a person approves it by its id
(``anima identity NAME --approve ID``), then it is applied as ``identity.revised`` by the operator.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from animas_contracts.envelope import Event


class PlannedIdentity(msgspec.Struct, frozen=True, kw_only=True):
    """A run's identity revision, as recorded in its plan (a rerun does the same with it)."""

    content: Annotated[str, Meta(description="The whole proposed identity.md.")]
    reason: Annotated[str, Meta(description="Why the identity should change, in the model's words.")]
    citations: Annotated[list[str], Meta(description="The source lines it rests on, as 'ref: quote'.")] = (
        msgspec.field(default_factory=list)
    )
    changed_lines: Annotated[int, Meta(ge=0, description="Lines that differ from identity.md.")] = 0
    limit: Annotated[
        int, Meta(ge=0, description="The most changed lines applied without a person's approval.")
    ] = 0

    @property
    def needs_approval(self) -> bool:
        """Larger than the limit: recorded for a person to approve, never applied by the run."""
        return self.changed_lines > self.limit


class IdentityProposed(Event, frozen=True, kw_only=True, tag="identity.proposed"):
    """A revision of identity.md too large to apply without a person: its id is what they approve."""

    run_id: Annotated[str, Meta(description="The consolidation run that proposed it.")]
    content: Annotated[str, Meta(description="The whole proposed identity.md.")]
    reason: Annotated[str, Meta(description="Why the identity should change.")]
    citations: Annotated[list[str], Meta(description="The source lines it rests on, as 'ref: quote'.")] = (
        msgspec.field(default_factory=list)
    )
    changed_lines: Annotated[int, Meta(ge=0, description="Lines that differ from identity.md.")] = 0
    limit: Annotated[int, Meta(ge=0, description="The most changed lines applied without approval.")] = 0
