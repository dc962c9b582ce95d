"""``GET /api/boards`` and ``GET /api/boards/{board}/posts``: boards read from memory-writer's projection.

A board's meta, members and posts come from ``rpc.memory.board`` (memory-writer's boards file,
numbered in stream order). Which boards exist is read from the stream: ``general`` always, and
every board a ``board.created`` named that memory-writer knows (a refused creation names a board
it does not, or one that exists already).
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta
from nats.aio.client import Client
from starlette.requests import Request
from starlette.responses import Response

from animas_contracts import GENERAL_BOARD, BoardCreated, BoardReply, BoardRequest, is_valid_anima_name
from animas_contracts.subjects import RPC_MEMORY_BOARD, stored_activity_filter
from animas_core.rpc_tracing import traced_request
from animas_gateway.api.stored_reads import (
    CURSOR_PARAM,
    LIMIT_PARAM,
    query_limit,
    seq_cursor,
    stored_events,
)
from animas_gateway.operations import Operation, Param, json_response
from animas_gateway.problems import Problem

TAG = "boards"
BOARD = Param("board", "path", "The board's name (general, or one an anima created).")
MAX_PAGE = 200
"""The most posts memory-writer answers in one read."""


class BoardSummary(msgspec.Struct, frozen=True, kw_only=True):
    """A board: who is on it and how many posts it holds."""

    board: str
    description: str
    posting: Annotated[str, Meta(description="Who may post: members, anyone or owner.")]
    owner: Annotated[str | None, Meta(description="Who created it; null for general.")]
    everyone: Annotated[bool, Meta(description="Every anima is on it (general); `members` is empty.")]
    members: list[str]
    posts: Annotated[int, Meta(description="How many posts it holds.")]


class BoardSummaryList(msgspec.Struct, frozen=True, kw_only=True):
    """Every board, general first, then by name."""

    items: list[BoardSummary]


class BoardPostItem(msgspec.Struct, frozen=True, kw_only=True):
    """One post."""

    seq: Annotated[int, Meta(description="Its number on the board, from 1.")]
    id: Annotated[str, Meta(description="Id of the channel.posted event.")]
    anima: Annotated[str, Meta(description="Who posted it.")]
    text: str
    time: Annotated[str, Meta(description="When it was posted (ISO 8601, UTC).")]
    thread_id: str


class BoardPostPage(msgspec.Struct, frozen=True, kw_only=True):
    """A page of posts, oldest first; ``next_cursor`` pages back to older ones."""

    board: str
    total: Annotated[int, Meta(description="How many posts the board holds.")]
    items: list[BoardPostItem]
    next_cursor: Annotated[
        str | None, Meta(description="Pass as `cursor` for the older posts; null at the first.")
    ]


def board_item(reply: BoardReply) -> BoardSummary:
    """The API's view of a board read."""
    return BoardSummary(
        board=reply.board,
        description=reply.description,
        posting=reply.posting.value,
        owner=reply.owner,
        everyone=reply.everyone,
        members=list(reply.members),
        posts=reply.total,
    )


def board_names(created: list[str]) -> list[str]:
    """general, then every other name created, once each, sorted."""
    return [GENERAL_BOARD, *sorted(set(created) - {GENERAL_BOARD})]


def operations(nc: Client, *, timeout_s: float = 5.0) -> list[Operation]:
    """The board routes, asking memory-writer over ``nc``."""

    async def read(board: str, before: int | None = None, limit: int = 0) -> BoardReply:
        request = BoardRequest(board=board, before=before, limit=limit)
        msg = await traced_request(nc, RPC_MEMORY_BOARD, msgspec.json.encode(request), timeout_s=timeout_s)
        reply = msgspec.json.decode(msg.data, type=BoardReply)
        if not reply.ok:
            raise Problem(502, f"memory-writer could not read #{board}: {reply.error}", title="Bad gateway")
        return reply

    async def list_boards(_: Request) -> Response:
        stored = await stored_events(nc, stored_activity_filter(event_type="board.created"))
        created = [s.event.board for s in stored if isinstance(s.event, BoardCreated)]
        items = []
        for name in board_names([n for n in created if is_valid_anima_name(n)]):
            reply = await read(name)
            if reply.exists:
                items.append(board_item(reply))
        return json_response(BoardSummaryList(items=items))

    async def posts(request: Request) -> Response:
        name = request.path_params["board"]
        if not is_valid_anima_name(name):
            raise Problem(404, f"there is no board {name!r} (board names are lowercase letters and digits)")
        limit, before = min(query_limit(request), MAX_PAGE), seq_cursor(request)
        reply = await read(name, before, limit)
        if not reply.exists:
            raise Problem(404, f"there is no board #{name}")
        items = [
            BoardPostItem(seq=p.seq, id=p.id, anima=p.anima, text=p.text, time=p.ts, thread_id=p.thread_id)
            for p in reply.posts
        ]
        next_cursor = None if reply.next_before is None else str(reply.next_before)
        return json_response(
            BoardPostPage(board=reply.board, total=reply.total, items=items, next_cursor=next_cursor)
        )

    return [
        Operation(
            "GET",
            "/api/boards",
            list_boards,
            "Every board with its members and how many posts it holds",
            TAG,
            "admin",
            response=BoardSummaryList,
            errors=(502, 503),
        ),
        Operation(
            "GET",
            "/api/boards/{board}/posts",
            posts,
            "A page of a board's posts, oldest first; the cursor pages back",
            TAG,
            "admin",
            response=BoardPostPage,
            params=(BOARD, CURSOR_PARAM, LIMIT_PARAM),
            errors=(400, 404, 502, 503),
        ),
    ]
