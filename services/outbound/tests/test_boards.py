"""Boards in outbound: who may post where, and mentions fanned out to members once each."""

from __future__ import annotations

from pathlib import Path

import pytest

from animas_contracts import (
    AnimaSummary,
    BoardReply,
    BoardRequest,
    GuardRule,
    MessageKind,
    MessageReceived,
    OutboundKind,
    OutboundRequested,
    PostingPolicy,
)
from animas_core.config import CachedConfig
from animas_core.errors import RetryableError
from animas_core.mentions import mentions
from animas_outbound.boards import BoardRules, MentionFanout, mention_id

ANIMAS = [AnimaSummary(name=n, enabled=n != "dave") for n in ("alice", "bob", "carol", "dave", "erin")]


class FakeBoards:
    def __init__(self, *boards: BoardReply) -> None:
        self.boards = {b.board: b for b in boards}

    async def board(self, request: BoardRequest) -> BoardReply:
        if request.board == "broken":
            return BoardReply(ok=False, error="disk")
        return self.boards.get(request.board, BoardReply(ok=True, exists=False, board=request.board))

    async def animas(self) -> list[AnimaSummary]:
        return ANIMAS


DEV = BoardReply(ok=True, exists=True, board="dev", owner="alice", members=["alice", "bob", "carol", "dave"])
NEWS = BoardReply(
    ok=True, exists=True, board="news", owner="alice", posting=PostingPolicy.OWNER, members=["alice"]
)
GENERAL = BoardReply(ok=True, exists=True, board="general", posting=PostingPolicy.ANYONE, everyone=True)
BOARDS = FakeBoards(DEV, NEWS, GENERAL)


def _post(board: str, text: str, anima: str = "alice", hops: int = 0) -> OutboundRequested:
    return OutboundRequested(
        id=f"req-{board}",
        anima=anima,
        correlation_id="c",
        producer="agent-runner",
        kind=OutboundKind.CHANNEL,
        to=board,
        text=text,
        thread_id="t1",
        hops=hops,
    )


def _rules(tmp_path: Path) -> BoardRules:
    return BoardRules(BOARDS, CachedConfig(tmp_path / "config.json"))


def test_mentions_are_names_and_all_not_addresses() -> None:
    found = mentions("@Bob and @carol, @bob again; mail bob@example.com; @all (x@y)")
    assert found.names == ("bob", "carol") and found.everyone
    assert not mentions("no mention here, a@b.c")
    assert mentions("@bob @zed").strangers(["bob"]) == ["zed"]
    assert mentions("@all").recipients(["alice", "bob"], "alice") == ["bob"]


async def test_a_post_to_a_missing_board_is_refused_with_the_reason(tmp_path: Path) -> None:
    refusal = await _rules(tmp_path)(_post("nowhere", "hi"))
    assert refusal is not None and refusal.rule is GuardRule.BOARD
    assert refusal.reason.startswith("there is no board #nowhere")


async def test_who_may_post(tmp_path: Path) -> None:
    rules = _rules(tmp_path)
    assert await rules(_post("dev", "hi", anima="bob")) is None
    not_member = await rules(_post("dev", "hi", anima="erin"))
    assert not_member is not None and "only members post on #dev" in not_member.reason
    not_owner = await rules(_post("news", "hi", anima="bob"))
    assert not_owner is not None and "only alice posts on #news" in not_owner.reason
    assert await rules(_post("general", "hi", anima="erin")) is None


async def test_a_mention_past_the_hop_limit_is_refused(tmp_path: Path) -> None:
    refusal = await _rules(tmp_path)(_post("dev", "@bob look", hops=12))
    assert refusal is not None and refusal.rule is GuardRule.HOP_LIMIT
    assert await _rules(tmp_path)(_post("dev", "no mention", hops=12)) is None


async def test_an_unreadable_projection_is_retried(tmp_path: Path) -> None:
    with pytest.raises(RetryableError):
        await _rules(tmp_path)(_post("broken", "hi"))


async def test_messages_are_not_boards_business(tmp_path: Path) -> None:
    message = OutboundRequested(
        id="m",
        anima="alice",
        correlation_id="c",
        producer="p",
        kind=OutboundKind.MESSAGE,
        to="bob",
        text="@carol",
        thread_id="t",
    )
    assert await _rules(tmp_path)(message) is None
    assert await MentionFanout(BOARDS)(message) == []


async def test_at_name_reaches_that_member_only() -> None:
    [event] = await MentionFanout(BOARDS)(_post("dev", "@bob please review; @erin too", hops=2))
    assert isinstance(event, MessageReceived)
    assert (event.anima, event.sender, event.kind, event.channel) == (
        "bob",
        "alice",
        MessageKind.MENTION,
        "dev",
    )
    assert event.id == mention_id("req-dev", "bob") and event.hops == 3 and event.thread_id == "t1"
    assert "alice mentioned you on #dev" in event.text and "@bob please review" in event.text


async def test_at_all_reaches_every_enabled_member_but_the_poster_once() -> None:
    events = await MentionFanout(BOARDS)(_post("dev", "@all @bob @all standup"))
    assert sorted(e.anima for e in events) == ["bob", "carol"]
    again = await MentionFanout(BOARDS)(_post("dev", "@all @bob @all standup"))
    assert [e.id for e in again] == [e.id for e in events]


async def test_everyone_is_on_general() -> None:
    events = await MentionFanout(BOARDS)(_post("general", "@all hello", anima="erin"))
    assert sorted(e.anima for e in events) == ["alice", "bob", "carol"]
    assert await MentionFanout(BOARDS)(_post("general", "nobody mentioned")) == []
