"""The boards projection: membership decided in stream order, numbered posts, paging, rebuilds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from animas_contracts import (
    BoardCreated,
    BoardJoined,
    BoardLeft,
    BoardRequest,
    ChannelPosted,
    Event,
    PostingPolicy,
)
from animas_core.config import CachedConfig
from animas_core.home import Home
from animas_memory_writer.adapters.boards import BoardStore
from animas_memory_writer.applier import MemoryApplier

AT = datetime(2026, 2, 12, 14, 30, tzinfo=UTC)


def _env(anima: str, event_id: str, minutes: int = 0) -> dict[str, Any]:
    return {
        "id": event_id,
        "anima": anima,
        "correlation_id": "c",
        "producer": "test",
        "ts": AT + timedelta(minutes=minutes),
    }


def _post(anima: str, board: str, n: int) -> ChannelPosted:
    return ChannelPosted(
        channel=board, text=f"post {n}", thread_id="t", request_id=f"r{n}", **_env(anima, f"p{n}", n)
    )


def _history() -> list[Event]:
    return [
        BoardCreated(board="dev", description="the dev team", **_env("alice", "c1")),
        BoardJoined(board="dev", **_env("bob", "j1")),
        BoardJoined(board="dev", **_env("carol", "j2")),
        BoardLeft(board="dev", **_env("carol", "l1")),
        *(_post("alice" if n % 2 else "bob", "dev", n) for n in range(1, 8)),
        _post("carol", "general", 8),
    ]


def test_membership_and_posts_are_projected_with_numbers(tmp_path: Path) -> None:
    store = BoardStore(tmp_path / "boards.db")
    for event in _history():
        store.apply(event)

    reply = store.read(BoardRequest(board="dev", limit=3))

    assert reply.ok and reply.exists
    assert (reply.description, reply.posting, reply.owner) == ("the dev team", PostingPolicy.MEMBERS, "alice")
    assert reply.members == ["alice", "bob"]
    assert [p.seq for p in reply.posts] == [5, 6, 7]
    assert [p.text for p in reply.posts] == ["post 5", "post 6", "post 7"]
    assert reply.total == 7 and reply.next_before == 5


def test_paging_back_reaches_the_first_post_and_stops(tmp_path: Path) -> None:
    store = BoardStore(tmp_path / "boards.db")
    for event in _history():
        store.apply(event)

    pages = []
    before: int | None = None
    while True:
        page = store.read(BoardRequest(board="dev", limit=3, before=before))
        pages.append([p.seq for p in page.posts])
        if page.next_before is None:
            break
        before = page.next_before

    assert pages == [[5, 6, 7], [2, 3, 4], [1]]


def test_general_always_exists_with_everyone_on_it(tmp_path: Path) -> None:
    store = BoardStore(tmp_path / "boards.db")
    for event in _history():
        store.apply(event)

    general = store.read(BoardRequest(board="#General"))

    assert general.exists and general.everyone and general.posting is PostingPolicy.ANYONE
    assert general.is_member("anyone") and general.posting_refusal("anyone") is None
    assert [p.text for p in general.posts] == ["post 8"]
    refused = store.apply(BoardCreated(board="general", **_env("bob", "c-general")))
    assert refused is not None and "everyone's board" in (refused.reason or "")


def test_conflicting_changes_are_refused_with_the_reason(tmp_path: Path) -> None:
    store = BoardStore(tmp_path / "boards.db")
    store.apply(BoardCreated(board="dev", **_env("alice", "c1")))

    again = store.apply(BoardCreated(board="dev", **_env("bob", "c2")))
    missing = store.apply(BoardJoined(board="ops", **_env("bob", "j1")))
    twice = store.apply(BoardJoined(board="dev", **_env("alice", "j2")))
    not_member = store.apply(BoardLeft(board="dev", **_env("bob", "l1")))

    assert again is not None and "exists already (created by alice)" in (again.reason or "")
    assert missing is not None and missing.reason == "there is no board #ops"
    assert twice is not None and "already" in (twice.reason or "")
    assert not_member is not None and "not a member" in (not_member.reason or "")
    assert store.read(BoardRequest(board="missing")).exists is False


def test_a_redelivered_event_changes_nothing_and_keeps_its_verdict(tmp_path: Path) -> None:
    store = BoardStore(tmp_path / "boards.db")
    created = BoardCreated(board="dev", **_env("alice", "c1"))
    first = store.apply(created)
    store.apply(BoardLeft(board="dev", **_env("alice", "l1")))
    post = _post("bob", "dev", 1)
    store.apply(post)

    assert store.apply(created) == first and first is not None and first.reason is None
    store.apply(post)
    reply = store.read(BoardRequest(board="dev"))
    assert reply.members == [] and reply.total == 1


def test_posting_rules(tmp_path: Path) -> None:
    store = BoardStore(tmp_path / "boards.db")
    store.apply(BoardCreated(board="news", posting=PostingPolicy.OWNER, **_env("alice", "c1")))
    store.apply(BoardJoined(board="news", **_env("bob", "j1")))
    store.apply(BoardCreated(board="dev", **_env("alice", "c2")))
    store.apply(BoardCreated(board="open", posting=PostingPolicy.ANYONE, **_env("alice", "c3")))

    news, dev, public = (store.read(BoardRequest(board=b)) for b in ("news", "dev", "open"))

    assert news.posting_refusal("alice") is None
    assert news.posting_refusal("bob") == "only alice posts on #news (announcements)"
    assert dev.posting_refusal("bob") == "only members post on #dev; join it first (join_board)"
    assert public.posting_refusal("bob") is None


def test_a_full_rebuild_reproduces_the_same_boards(tmp_path: Path) -> None:
    applier = MemoryApplier(Home(tmp_path), CachedConfig(tmp_path / "config.json"))
    for event in _history():
        applier.apply(event)
    before = applier.boards.read(BoardRequest(board="dev", limit=50))

    applier.boards.reset()
    for event in _history():
        applier.apply(event)
    after = applier.boards.read(BoardRequest(board="dev", limit=50))

    assert after == before
    assert (tmp_path / "boards" / "boards.db").is_file()
    applier.close()


def test_the_applier_answers_membership_changes_like_memory_changes(tmp_path: Path) -> None:
    applier = MemoryApplier(Home(tmp_path), CachedConfig(tmp_path / "config.json"))

    created = applier.apply(BoardCreated(board="dev", **_env("alice", "c1")))
    refused = applier.apply(BoardJoined(board="ops", **_env("bob", "j1")))
    post = applier.apply(_post("alice", "dev", 1))

    assert created is not None and created.applied and created.kind == "board.created"
    assert refused is not None and refused.reason == "there is no board #ops"
    assert post is None
    applier.close()
