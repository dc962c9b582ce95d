"""Approving an identity revision that consolidation refused to apply on its own (#13 item 6).

A daily consolidation records a revision of identity.md that changes more lines than the
configured limit as ``identity.proposed``. A person reads it (``anima events --type
identity.proposed --json``) and approves it by its id: the proposal's content is then published
as ``identity.revised`` by the operator, under an id derived from the proposal's, so approving
twice applies it once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from nats.js import JetStreamContext

from animas_contracts import ContractError, Event, IdentityRevised, derive_id
from animas_contracts.identity import IdentityProposed
from animas_contracts.subjects import stored_activity_filter
from animas_core.provenance import decode_delivered
from animas_core.streams import read_stored

APPROVAL_PART = "approved"


class ProposalNotFound(LookupError):
    """No ``identity.proposed`` with that id for that anima."""


async def find_proposal(js: JetStreamContext, anima: str, proposal_id: str) -> IdentityProposed:
    """The anima's recorded proposal with ``proposal_id``.

    Raises:
        ProposalNotFound: None is recorded for the anima under that id.
    """
    async for event in _stored(js, anima, "identity.proposed"):
        if isinstance(event, IdentityProposed) and event.id == proposal_id:
            return event
    raise ProposalNotFound(
        f"{anima} has no identity proposal {proposal_id!r} "
        f"(see: anima events --anima {anima} --type identity.proposed)"
    )


def approval(proposal: IdentityProposed, author: str) -> IdentityRevised:
    """The revision that applies an approved proposal, as ``author``; its id derives from the proposal."""
    event_id = derive_id(proposal.id, APPROVAL_PART)
    return IdentityRevised(
        id=event_id,
        anima=proposal.anima,
        correlation_id=proposal.correlation_id,
        causation_id=proposal.id,
        producer="cli",
        content=proposal.content,
        author=author,
        reason=f"approved proposal {proposal.id}: {proposal.reason}",
    )


async def already_revised(js: JetStreamContext, anima: str, revision_id: str) -> bool:
    """Whether an ``identity.revised`` with ``revision_id`` is stored already (approved before)."""
    async for event in _stored(js, anima, "identity.revised"):
        if event.id == revision_id:
            return True
    return False


async def _stored(js: JetStreamContext, anima: str, event_type: str) -> AsyncIterator[Event]:
    """The anima's stored events of one type that decode (a forged or unreadable one is no proposal)."""
    async for msg in read_stored(js, stored_activity_filter(anima=anima, event_type=event_type)):
        try:
            yield decode_delivered(msg.subject, msg.data)
        except ContractError:
            continue
