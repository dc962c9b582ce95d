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
