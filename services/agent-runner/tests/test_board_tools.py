"""The board tools with fakes: checks before publishing, derived ids, reads that page and are recorded."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from animas_agent_runner.ports import BoardChange, OpOutcome, SendVerdict
from animas_agent_runner.toolbox.board_tools import (
    BoardArgs,
    CreateBoardArgs,
    PostChannelArgs,
    ReadChannelArgs,
    create_board,
    join_board,
    leave_board,
    post_channel,
    read_channel,
)
from animas_agent_runner.toolbox.catalogue import ALL_TOOLS
from animas_agent_runner.toolbox.context import ToolContext
from animas_agent_runner.toolbox.errors import ToolFailed
from animas_contracts import (
    AnimaSummary,
    BoardCreated,
    BoardJoined,
    BoardPost,
    BoardReply,
    BoardRequest,
    ChannelRead,
    Event,
    OutboundKind,
    OutboundRequested,
    PostingPolicy,
)
from animas_core.permissions import parse_permissions

POSTS = [
    BoardPost(seq=n, id=f"p{n}", anima="bob", text=f"post {n}", ts=f"2026-02-12T09:0{n}:00+00:00")
    for n in range(1, 6)
]


class Boards:
    def __init__(self, answer: OpOutcome = OpOutcome(applied=True)) -> None:  # noqa: B008
        self.boards = {
            "dev": BoardReply(ok=True, exists=True, board="dev", owner="bob", members=["bob", "sample"]),
            "ops": BoardReply(ok=True, exists=True, board="ops", owner="carol", members=["carol"]),
            "general": BoardReply(
                ok=True, exists=True, board="general", posting=PostingPolicy.ANYONE, everyone=True
            ),
        }
        self.changes: list[BoardChange] = []
        self.answer = answer
        self.requests: list[BoardRequest] = []

    async def board(self, request: BoardRequest) -> BoardReply:
        self.requests.append(request)
        found = self.boards.get(request.board)
        if found is None:
            return BoardReply(ok=True, board=request.board)
        before = request.before or 10**9
        page = [p for p in POSTS if p.seq < before][-request.limit :] if request.limit else []
        nxt = page[0].seq if page and page[0].seq > 1 else None
        return BoardReply(
            ok=True,
            exists=True,
            board=found.board,
            owner=found.owner,
            posting=found.posting,
            everyone=found.everyone,
            members=found.members,
            posts=page,
            total=len(POSTS),
            next_before=nxt,
        )

    async def change(self, event: BoardChange, timeout_s: float) -> OpOutcome:
        self.changes.append(event)
        return self.answer


class Memory:
    async def animas(self) -> list[AnimaSummary]:
        return [AnimaSummary(name=n, enabled=True) for n in ("bob", "carol", "sample")]


class Published:
    def __init__(self) -> None:
        self.events: list[Event] = []

    async def publish(self, event: Event) -> None:
        self.events.append(event)


class Outbound:
    def __init__(self, verdict: SendVerdict = SendVerdict(delivered=True)) -> None:  # noqa: B008
        self.sent: list[OutboundRequested] = []
        self.verdict = verdict

    async def send(self, request: OutboundRequested, timeout_s: float) -> SendVerdict:
        self.sent.append(request)
        return self.verdict


def _context(
    boards: Boards, outbound: Outbound | None = None, published: Published | None = None
) -> ToolContext:
    nothing: Any = None
    memory: Any = Memory()
    return ToolContext(
        anima="sample",
        cycle_id="cycle-1",
        correlation_id="corr",
        thread_id="thread",
        trigger="Heartbeat",
        permissions=parse_permissions(None),
        memory=memory,
        search=nothing,
        ops=nothing,
        channels=boards,
        publisher=published or Published(),
        workspace=None,
        now=lambda: datetime(2026, 2, 12, 9, 0, tzinfo=UTC),
        outbound=outbound or Outbound(),
    )


def test_the_board_tools_are_offered_in_place_of_the_old_channel_tools() -> None:
    names = [tool.name for tool in ALL_TOOLS]
    for name in ("create_board", "join_board", "leave_board", "post_channel", "read_channel"):
        assert names.count(name) == 1


async def test_create_publishes_a_change_with_an_id_derived_from_the_call() -> None:
    boards = Boards()
    text = await create_board(_context(boards), CreateBoardArgs(board="#Research", description="papers"), 3)
    [event] = boards.changes
    assert isinstance(event, BoardCreated)
    assert (event.board, event.description, event.posting, event.anima) == (
        "research",
        "papers",
        PostingPolicy.MEMBERS,
        "sample",
    )
    assert event.id == _context(boards).effect_id(3, "board")
    assert text.startswith("Created #research")


@pytest.mark.parametrize(
    ("tool", "args", "reason"),
    [
        (create_board, CreateBoardArgs(board="dev"), "exists already (created by bob)"),
        (create_board, CreateBoardArgs(board="general"), "everyone's board"),
        (create_board, CreateBoardArgs(board="no way"), "invalid board name"),
        (join_board, BoardArgs(board="nowhere"), "there is no board #nowhere"),
        (leave_board, BoardArgs(board="ops"), "you are not a member of #ops"),
        (leave_board, BoardArgs(board="general"), "cannot be left"),
    ],
)
async def test_mistakes_are_told_and_nothing_is_published(tool: Any, args: Any, reason: str) -> None:
    boards = Boards()
    with pytest.raises(ToolFailed, match=re.escape(reason)):
        await tool(_context(boards), args, 0)
    assert boards.changes == []


async def test_join_and_leave() -> None:
    boards = Boards()
    assert (await join_board(_context(boards), BoardArgs(board="dev"), 0)).startswith("You are a member")
    assert (await join_board(_context(boards), BoardArgs(board="ops"), 1)).startswith("Joined #ops")
    assert (await leave_board(_context(boards), BoardArgs(board="dev"), 2)) == "Left #dev."
    assert [type(e) for e in boards.changes] == [BoardJoined, type(boards.changes[1])]
    assert "general" in await join_board(_context(boards), BoardArgs(board="general"), 3)


async def test_a_change_memory_writer_refused_is_a_tool_error() -> None:
    boards = Boards(OpOutcome(applied=False, reason="there is no board #ops"))
    with pytest.raises(ToolFailed, match="there is no board #ops"):
        await join_board(_context(boards), BoardArgs(board="ops"), 0)


async def test_a_post_goes_through_outbound_and_names_who_is_not_reached() -> None:
    outbound = Outbound()
    text = await post_channel(
        _context(Boards(), outbound), PostChannelArgs(channel="#dev", text="@bob @carol look"), 2
    )
    [request] = outbound.sent
    assert (request.kind, request.to, request.text) == (OutboundKind.CHANNEL, "dev", "@bob @carol look")
    assert "Mentioned: bob." in text and "Not delivered to @carol: not a member of #dev" in text


async def test_everyone_is_on_general() -> None:
    text = await post_channel(_context(Boards()), PostChannelArgs(channel="general", text="@carol hi"), 0)
    assert "Mentioned: carol." in text and "Not delivered" not in text


async def test_an_outbound_refusal_is_the_tool_error() -> None:
    outbound = Outbound(SendVerdict(delivered=False, reason="there is no board #nowhere; nothing was posted"))
    with pytest.raises(ToolFailed, match="not delivered: there is no board #nowhere"):
        await post_channel(_context(Boards(), outbound), PostChannelArgs(channel="nowhere", text="hi"), 0)


async def test_reading_pages_back_and_is_recorded() -> None:
    published = Published()
    boards = Boards()
    first = await read_channel(
        _context(boards, published=published), ReadChannelArgs(channel="dev", limit=2), 1
    )
    second = await read_channel(
        _context(boards, published=published), ReadChannelArgs(channel="dev", limit=2, before=4), 2
    )
    assert "Posts 4-5 of 5" in first and "[5]" in first and "before=4" in first
    assert "Posts 2-3 of 5" in second and "[1]" not in second and "before=2" in second
    reads = [e for e in published.events if isinstance(e, ChannelRead)]
    assert [(r.channel, r.posts, r.before) for r in reads] == [("dev", 2, None), ("dev", 2, 4)]
    with pytest.raises(ToolFailed, match="there is no board #nowhere"):
        await read_channel(_context(boards), ReadChannelArgs(channel="nowhere"), 3)
