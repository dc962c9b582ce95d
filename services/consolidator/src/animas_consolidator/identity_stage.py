"""A run's identity revision carried out: a small one applied, a large one recorded for approval.

Both records derive their ids from the run, so a run killed and run again asks memory-writer for
the same ``identity.revised`` (applied once) or records the same ``identity.proposed`` (JetStream
drops the repeat), and the id a person approves never changes.
"""

from __future__ import annotations

from animas_consolidator.domain.identity import PROPOSAL_PART, REVISION_PART
from animas_consolidator.domain.records import RunRef
from animas_consolidator.ports import MemoryOps
from animas_contracts import ConsolidationPlanned, IdentityRevised
from animas_contracts.identity import IdentityProposed
from animas_core.broker import EventSink
from animas_core.errors import RetryableError

AUTHOR = "consolidation"


async def carry_out_identity(
    ops: MemoryOps, publisher: EventSink, ref: RunRef, plan: ConsolidationPlanned
) -> list[str]:
    """Apply or propose the plan's identity revision; what memory-writer refused of it, and why."""
    change = plan.identity
    if change is None:
        return []
    if change.needs_approval:
        await publisher.publish(
            IdentityProposed(
                **ref.envelope(PROPOSAL_PART),
                run_id=ref.run_id,
                content=change.content,
                reason=change.reason,
                citations=list(change.citations),
                changed_lines=change.changed_lines,
                limit=change.limit,
            )
        )
        return []
    revision = IdentityRevised(
        **ref.envelope(REVISION_PART), content=change.content, author=AUTHOR, reason=change.reason
    )
    outcome = await ops.apply(revision)
    if outcome.applied is None:
        # Unconfirmed, not failed: the run is retried and memory-writer applies the revision once.
        raise RetryableError(f"memory-writer has not confirmed the identity revision of run {ref.run_id}")
    if outcome.applied is False:
        return [f"identity revision: memory-writer refused: {outcome.reason}"]
    return []
