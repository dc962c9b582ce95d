"""Boards in outbound: who may post where, and the mentions a post fans out (seed 003 §7).

:class:`BoardRules` refuses a post to a board that does not exist or that the poster may not
post to (``messaging.refused`` rule ``board`` with the reason), reading memory-writer's boards
projection. :class:`MentionFanout` turns ``@name`` (members only) and ``@all`` (every member but
the poster) into one ``message.received`` of kind ``mention`` per member reached, with ids
derived from the request and the member, so a redelivered post reaches nobody twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from animas_contracts import (
    AnimaSummary,
    BoardReply,
    BoardRequest,
    Event,
    GuardRule,
    MessageKind,
    MessageOrigin,
    MessageReceived,
    OutboundKind,
    OutboundRequested,
    derive_id,
)
from animas_core.config import CachedConfig
from animas_core.errors import RetryableError
from animas_core.mentions import mentions
from animas_outbound import domain


class Boards(Protocol):
    """memory-writer's boards projection and anima list (:class:`animas_core.memory_client.MemoryClient`)."""

    async def board(self, request: BoardRequest) -> BoardReply:
        """A board's meta, members and a page of posts."""
        ...

    async def animas(self) -> list[AnimaSummary]:
        """Every anima that exists."""
        ...


async def _board(boards: Boards, name: str) -> BoardReply:
    reply = await boards.board(BoardRequest(board=name, limit=0))
    if not reply.ok:
        # The name was checked before (domain.refusal): an unreadable projection is worth a retry.
        raise RetryableError(f"memory-writer could not read #{name}: {reply.error}")
    return reply


def mention_id(request_id: str, member: str) -> str:
    """Id of the mention a post delivers to ``member``."""
    return derive_id(request_id, "mention", member)


class BoardRules:
    """A post needs an existing board and the poster's right to post on it; mentions obey the hop limit."""

    def __init__(self, boards: Boards, config: CachedConfig) -> None:
        self._boards = boards
        self._config = config

    async def __call__(self, request: OutboundRequested) -> domain.Refusal | None:
        if request.kind is not OutboundKind.CHANNEL:
            return None
        board = await _board(self._boards, request.to)
        if not board.exists:
            return domain.Refusal(
                GuardRule.BOARD,
                f"there is no board #{request.to}; nothing was posted. Create it with create_board, "
                "or post on #general, which every anima reads",
            )
        refusal = board.posting_refusal(request.anima)
        if refusal is not None:
            return domain.Refusal(GuardRule.BOARD, f"{refusal}; nothing was posted")
        limit = self._config.get().messaging.max_hops
        if mentions(request.text) and request.hops + 1 > limit:
            return domain.Refusal(
                GuardRule.HOP_LIMIT,
                f"this thread's chain of messages between animas reached {limit} hops; a post that "
                "mentions someone would go further. Post it without @mentions.",
            )
        return None


class MentionFanout:
    """Every member a post mentions gets it in its inbox, once."""

    def __init__(self, boards: Boards) -> None:
        self._boards = boards

    async def __call__(self, request: OutboundRequested) -> Sequence[Event]:
        if request.kind is not OutboundKind.CHANNEL:
            return []
        found = mentions(request.text)
        if not found:
            return []
        board = await _board(self._boards, request.to)
        animas = await self._boards.animas()
        enabled = {anima.name for anima in animas if anima.enabled}
        members = sorted(enabled) if board.everyone else [m for m in board.members if m in enabled]
        return [mention(request, member) for member in found.recipients(members, request.anima)]


def mention(request: OutboundRequested, member: str) -> MessageReceived:
    """The post in ``member``'s inbox: kind mention, the board named, one hop further."""
    return MessageReceived(
        id=mention_id(request.id, member),
        anima=member,
        correlation_id=request.correlation_id,
        causation_id=request.id,
        producer=domain.PRODUCER,
        text=f"{request.anima} mentioned you on #{request.to}:\n{request.text}",
        sender=request.anima,
        thread_id=request.thread_id,
        origin=MessageOrigin.ANIMA,
        kind=MessageKind.MENTION,
        channel=request.to,
        hops=request.hops + 1,
        pair_depth=0,
    )
