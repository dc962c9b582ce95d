"""Boards: shared channels with members (seed 003 §7, §4.10).

``create_board``, ``join_board`` and ``leave_board`` publish a membership change with an id
derived from the call and wait for memory-writer, which decides it in stream order and keeps the
boards projection; they check the projection first, so the usual mistakes (a board that exists,
one that does not, joining twice) are told at once. ``post_channel`` goes through outbound, which
refuses a post to a missing board or one the poster may not post to and fans ``@name`` /
``@all`` out to the members. ``read_channel`` reads one page of the projection (``before`` pages
back) and records a ``channel.read``.

``general`` is everyone's board: it always exists, every anima is on it and may post, nobody
joins, leaves or creates it. Any board can be read by any anima; posting follows the board's rule
(members, anyone, or the owner only).
"""

from __future__ import annotations

from typing import Any

from animas_agent_runner.domain import PRODUCER
from animas_agent_runner.ports import BoardChange
from animas_agent_runner.toolbox.context import ToolContext
from animas_agent_runner.toolbox.errors import ToolFailed
from animas_agent_runner.toolbox.messaging_tools import check_text
from animas_agent_runner.toolbox.registry import Args, Tool
from animas_agent_runner.toolbox.sending import request_for, send
from animas_contracts import (
    GENERAL_BOARD,
    BoardCreated,
    BoardJoined,
    BoardLeft,
    BoardReply,
    BoardRequest,
    ChannelRead,
    OutboundKind,
    PostingPolicy,
    is_valid_anima_name,
)
from animas_core.mentions import mentions

MAX_DESCRIPTION_CHARS = 500
MAX_READ = 100


class CreateBoardArgs(Args, frozen=True, kw_only=True):
    """Arguments of create_board."""

    board: str
    description: str = ""
    posting: PostingPolicy = PostingPolicy.MEMBERS


class BoardArgs(Args, frozen=True, kw_only=True):
    """Arguments of join_board and leave_board."""

    board: str


class PostChannelArgs(Args, frozen=True, kw_only=True):
    """Arguments of post_channel."""

    channel: str
    text: str


class ReadChannelArgs(Args, frozen=True, kw_only=True):
    """Arguments of read_channel."""

    channel: str
    limit: int = 20
    before: int | None = None
    """Only posts numbered below this (the ``before`` a read suggests, to page back)."""


def board_name(raw: str) -> str:
    """``#Dev`` → ``dev``; a name that cannot be a board is a tool error."""
    name = raw.strip().lstrip("#").lower()
    if not is_valid_anima_name(name):
        raise ToolFailed(
            f"invalid board name {raw!r}: lowercase letters, digits, '_' or '-', starting with a letter"
        )
    return name


async def _existing(ctx: ToolContext, name: str, limit: int = 0, before: int | None = None) -> BoardReply:
    reply = await ctx.channels.board(BoardRequest(board=name, limit=limit, before=before))
    if not reply.ok:
        raise ToolFailed(f"could not read #{name}: {reply.error}")
    if not reply.exists:
        raise ToolFailed(f"there is no board #{name}. Create it with create_board, or use #{GENERAL_BOARD}.")
    return reply


async def _change(ctx: ToolContext, event: BoardChange, done: str) -> str:
    outcome = await ctx.channels.change(event, ctx.op_timeout_s)
    if outcome.applied is False:
        raise ToolFailed(outcome.reason)
    if outcome.applied is None:
        return f"Asked for it; memory-writer has not confirmed yet. Check with read_channel({event.board!r})."
    return done


def _envelope(ctx: ToolContext, ordinal: int) -> dict[str, Any]:
    """A membership event's envelope: the anima's own, its id derived from the call."""
    return {
        "id": ctx.effect_id(ordinal, "board"),
        "anima": ctx.anima,
        "correlation_id": ctx.correlation_id,
        "causation_id": ctx.cycle_id,
        "producer": PRODUCER,
    }


async def create_board(ctx: ToolContext, args: CreateBoardArgs, ordinal: int) -> str:
    """A new board, with this anima as its owner and first member."""
    name = board_name(args.board)
    if name == GENERAL_BOARD:
        raise ToolFailed(f"#{GENERAL_BOARD} is everyone's board and exists already")
    if len(args.description) > MAX_DESCRIPTION_CHARS:
        raise ToolFailed(
            f"the description is {len(args.description)} characters; the limit is {MAX_DESCRIPTION_CHARS}"
        )
    found = await ctx.channels.board(BoardRequest(board=name, limit=0))
    if found.exists:
        raise ToolFailed(
            f"a board named #{name} exists already (created by {found.owner}); join it with join_board"
        )
    event = BoardCreated(
        **_envelope(ctx, ordinal),
        board=name,
        description=args.description.strip(),
        posting=args.posting,
    )
    who = {"members": "members", "anyone": "every anima", "owner": "only you"}[args.posting.value]
    return await _change(
        ctx,
        event,
        f"Created #{name}; you are its first member. Who may post: {who}. Others join with join_board.",
    )


async def join_board(ctx: ToolContext, args: BoardArgs, ordinal: int) -> str:
    """Become a member of a board (its posts and mentions are then yours)."""
    name = board_name(args.board)
    if name == GENERAL_BOARD:
        return f"Every anima is on #{GENERAL_BOARD} already; there is nothing to join."
    board = await _existing(ctx, name)
    if ctx.anima in board.members:
        return f"You are a member of #{name} already."
    event = BoardJoined(**_envelope(ctx, ordinal), board=name)
    return await _change(ctx, event, f"Joined #{name} ({len(board.members) + 1} members).")


async def leave_board(ctx: ToolContext, args: BoardArgs, ordinal: int) -> str:
    """Stop being a member of a board."""
    name = board_name(args.board)
    if name == GENERAL_BOARD:
        raise ToolFailed(f"every anima stays on #{GENERAL_BOARD}; it cannot be left")
    board = await _existing(ctx, name)
    if ctx.anima not in board.members:
        raise ToolFailed(f"you are not a member of #{name}")
    event = BoardLeft(**_envelope(ctx, ordinal), board=name)
    return await _change(ctx, event, f"Left #{name}.")


async def post_channel(ctx: ToolContext, args: PostChannelArgs, ordinal: int) -> str:
    """A post on a board; outbound checks the board and the right to post, and delivers mentions."""
    text = check_text(args.text)
    name = board_name(args.channel)
    found = mentions(text)
    strangers: list[str] = []
    if found.names:
        board = await ctx.channels.board(BoardRequest(board=name, limit=0))
        if board.exists:
            members = (
                [a.name for a in await ctx.memory.animas() if a.enabled] if board.everyone else board.members
            )
            strangers = found.strangers(members)
    delivered = await send(ctx, request_for(ctx, ordinal, OutboundKind.CHANNEL, name, text))
    lines = [f"Posted to #{name}." if delivered else f"Post to #{name} sent (not confirmed yet)."]
    reached = [n for n in found.names if n not in strangers and n != ctx.anima]
    if found.everyone:
        lines.append("@all: every member is told once.")
    elif reached:
        lines.append("Mentioned: " + ", ".join(reached) + ".")
    if strangers:
        lines.append(
            "Not delivered to " + ", ".join(f"@{n}" for n in strangers) + f": not a member of #{name}. "
            "Write to them with send_message if they need it."
        )
    return " ".join(lines)


async def read_channel(ctx: ToolContext, args: ReadChannelArgs, ordinal: int) -> str:
    """One page of a board, oldest first; ``before`` pages back."""
    name = board_name(args.channel)
    limit = max(1, min(args.limit, MAX_READ))
    board = await _existing(ctx, name, limit=limit, before=args.before)
    await ctx.publisher.publish(
        ChannelRead(
            id=ctx.effect_id(ordinal, "read"),
            anima=ctx.anima,
            correlation_id=ctx.correlation_id,
            causation_id=ctx.cycle_id,
            producer=PRODUCER,
            channel=name,
            posts=len(board.posts),
            before=args.before,
            cycle_id=ctx.cycle_id,
        )
    )
    return render(board, ctx.anima)


def render(board: BoardReply, anima: str) -> str:
    """A page of a board as the model reads it."""
    members = "every anima" if board.everyone else f"{len(board.members)} members: {', '.join(board.members)}"
    you = "you are a member" if board.is_member(anima) else "you are not a member"
    head = f"#{board.board} ({members}; posting: {board.posting.value}; {you})"
    if board.description:
        head += f"\n{board.description}"
    if not board.posts:
        return f"{head}\nNo posts{' before that' if board.total else ' yet'}."
    first, last = board.posts[0].seq, board.posts[-1].seq
    lines = [head, f"Posts {first}-{last} of {board.total}, oldest first:"]
    lines += [
        f"[{post.seq}] {post.ts[:16].replace('T', ' ')} {post.anima}: {post.text}" for post in board.posts
    ]
    if board.next_before is not None:
        lines.append(f"Older posts: read_channel with before={board.next_before}.")
    return "\n".join(lines)


BOARD_TOOLS = (
    Tool(
        "create_board",
        "Create a board (a shared channel) and become its first member. posting: members (default), "
        "anyone, or owner (announcements).",
        CreateBoardArgs,
        create_board,
    ),
    Tool("join_board", "Join a board: its posts and @mentions are then yours.", BoardArgs, join_board),
    Tool("leave_board", "Leave a board you are a member of.", BoardArgs, leave_board),
    Tool(
        "post_channel",
        "Post to a board such as general. @name tells that member, @all every member, once each.",
        PostChannelArgs,
        post_channel,
    ),
    Tool(
        "read_channel",
        "Read a board's latest posts (oldest first); before=N pages back to older posts.",
        ReadChannelArgs,
        read_channel,
    ),
)
