"""Boards: shared channels with members, posts, mentions and reads (seed 003 §7, §4.10).

Every board event is recorded on the subject of the anima that acted. memory-writer projects
them into ``shared/boards/`` (the board's members and its posts), so reading a board is a read of
that projection, not a scan of every post. A post is an ``outbound.requested`` of kind channel:
outbound checks the board and the poster's right to post, records ``channel.posted`` and fans
``@name`` / ``@all`` mentions out to the members' inboxes once each.
"""

from __future__ import annotations

import enum
from typing import Annotated

import msgspec
from msgspec import Meta

from animas_contracts.envelope import Event


class PostingPolicy(enum.StrEnum):
    """Who may post on a board."""

    MEMBERS = "members"
    """Only members (the default)."""
    ANYONE = "anyone"
    """Every anima, member or not."""
    OWNER = "owner"
    """Only the anima that created it (announcements)."""


class BoardCreated(Event, frozen=True, kw_only=True, tag="board.created"):
    """An anima created a board and is its first member (recorded on the creator's subject)."""

    board: Annotated[str, Meta(description="The board's name (anima-name rules).")]
    description: Annotated[str, Meta(description="What the board is for.")] = ""
    posting: Annotated[PostingPolicy, Meta(description="Who may post.")] = PostingPolicy.MEMBERS


class BoardJoined(Event, frozen=True, kw_only=True, tag="board.joined"):
    """An anima joined a board (recorded on the member's subject)."""

    board: Annotated[str, Meta(description="The board.")]


class BoardLeft(Event, frozen=True, kw_only=True, tag="board.left"):
    """An anima left a board (recorded on the member's subject)."""

    board: Annotated[str, Meta(description="The board.")]


class ChannelRead(Event, frozen=True, kw_only=True, tag="channel.read"):
    """An anima read a board (seed 003 §4.10 ``channel_read``), recorded on the reader's subject."""

    channel: Annotated[str, Meta(description="The board read.")]
    posts: Annotated[int, Meta(description="How many posts the read returned.")]
    before: Annotated[int | None, Meta(description="The paging cursor the read started before, if any.")] = (
        None
    )
    cycle_id: Annotated[str | None, Meta(description="The cycle that read it, if any.")] = None


GENERAL_BOARD = "general"
"""The board every anima is on: it always exists, every anima may post and read, nobody joins."""


class BoardRequest(msgspec.Struct, frozen=True, kw_only=True):
    """A read of memory-writer's board projection (``rpc.memory.board``)."""

    board: Annotated[str, Meta(description="The board.")]
    before: Annotated[
        int | None, Meta(description="Only posts with a smaller sequence number (paging back); null: latest.")
    ] = None
    limit: Annotated[int, Meta(ge=0, le=200, description="Most posts returned (newest before `before`).")] = (
        20
    )


class BoardPost(msgspec.Struct, frozen=True, kw_only=True):
    """One post as the projection keeps it."""

    seq: Annotated[int, Meta(description="The post's number on its board, from 1, in stream order.")]
    id: Annotated[str, Meta(description="Id of the channel.posted event.")]
    anima: Annotated[str, Meta(description="Who posted it.")]
    text: str
    ts: Annotated[str, Meta(description="When it was posted (ISO 8601, UTC).")]
    thread_id: str = ""


class BoardReply(msgspec.Struct, frozen=True, kw_only=True):
    """A board's meta, members and one page of posts, oldest first."""

    ok: bool
    exists: bool = False
    board: str = ""
    description: str = ""
    posting: PostingPolicy = PostingPolicy.MEMBERS
    owner: Annotated[str | None, Meta(description="Who created it; null for general.")] = None
    everyone: Annotated[bool, Meta(description="Every anima is on it (general); `members` empty.")] = False
    members: list[str] = []
    posts: list[BoardPost] = []
    total: Annotated[int, Meta(description="How many posts the board holds.")] = 0
    next_before: Annotated[
        int | None, Meta(description="Pass as `before` for the page before this one; null when none.")
    ] = None
    error: str | None = None

    def is_member(self, anima: str) -> bool:
        """Whether ``anima`` is on the board (everyone is on general)."""
        return self.everyone or anima in self.members

    def posting_refusal(self, anima: str) -> str | None:
        """Why ``anima`` may not post here; None when it may (the board must exist)."""
        if self.posting is PostingPolicy.ANYONE or self.everyone:
            return None
        if self.posting is PostingPolicy.OWNER and anima != self.owner:
            return f"only {self.owner} posts on #{self.board} (announcements)"
        if self.posting is PostingPolicy.MEMBERS and anima not in self.members:
            return f"only members post on #{self.board}; join it first (join_board)"
        return None
