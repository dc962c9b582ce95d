"""Boards with members, mentions and paging (issue #14 item 3, acceptance 4).

Through `anima up` and a scripted model that acts by rule on what woke each anima:

- alice creates #dev, bob and carol join; dave does not;
- ``@bob`` in alice's post reaches bob only (one ``message.received`` of kind mention), and the
  tool tells alice that ``@dave`` (not a member) was not reached;
- ``@all`` reaches bob and carol once each, and not alice;
- dave may not post on #dev, and nobody can post to a board that does not exist: both fail
  with the reason, as the tool error the model reads and a ``messaging.refused`` of rule board;
- carol reads #dev a page at a time (``before`` pages back), each read recorded;
- a post and a read show in the anima's activity log and its next prompt's recent activity;
- a full rebuild reproduces the board (members and numbered posts).
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tests.conftest import RunningSystem, scripted_config, start_system, wait_until
from tests.model_requests import anima_of, since_last_user

from animas_tools.scripted_llm import ScriptedLLM
from animas_tools.scripted_llm.script import ScriptedToolCall, Turn

pytestmark = [pytest.mark.e2e, pytest.mark.nats, pytest.mark.slow]

ANIMAS = ("alice", "bob", "carol", "dave")

ASK_BOB = "@bob please review the plan; @dave too"
STANDUP = "@all standup at 10"


def _call(name: str, **arguments: Any) -> ScriptedToolCall:
    return ScriptedToolCall(name=name, arguments=arguments)


RULES: list[tuple[str, list[ScriptedToolCall]]] = [
    ("Create the dev board", [_call("create_board", board="dev", description="The dev team")]),
    ("Join the dev board", [_call("join_board", board="dev")]),
    ("Ask bob on dev", [_call("post_channel", channel="dev", text=ASK_BOB)]),
    ("Call everyone on dev", [_call("post_channel", channel="dev", text=STANDUP)]),
    ("Post on dev", [_call("post_channel", channel="dev", text="may I?")]),
    ("Post on nowhere", [_call("post_channel", channel="nowhere", text="anyone?")]),
    ("Read dev", [_call("read_channel", channel="dev", limit=1)]),
]


def _respond(body: Mapping[str, Any]) -> Turn:
    """Each request's first turn calls the tool its rule names; the next turn ends the cycle."""
    woke, results = since_last_user(body)
    if "Read dev" in woke and len(results) == 1:
        older = re.search(r"before=(\d+)", results[0])
        if older:
            return Turn(
                tool_calls=[_call("read_channel", channel="dev", limit=1, before=int(older.group(1)))]
            )
    if not results:
        for trigger, calls in RULES:
            if trigger in woke:
                return Turn(tool_calls=calls)
    return Turn(text="Done." if results else "OK.")


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM() as server:
        server.respond_with(_respond)
        yield server


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory, llm: ScriptedLLM) -> Iterator[RunningSystem]:
    running = start_system(tmp_path_factory.mktemp("boards") / "home")
    try:
        running.configure(scripted_config(llm, animas=ANIMAS))
        for name in ANIMAS:
            running.anima("create", name, "--template", "general")
        wait_until(lambda: all((running.home / "animas" / n / "identity.md").exists() for n in ANIMAS))
        _active_now(running, "bob")
        yield running
    finally:
        running.stop()


def _active_now(system: RunningSystem, anima: str) -> None:
    """Active hours (UTC) around the current time, so a mention wakes the anima at once."""
    start = datetime.now(UTC) - timedelta(hours=1)
    end = start + timedelta(hours=2)
    (system.home / "animas" / anima / "heartbeat.md").write_text(
        f"# Heartbeat: {anima}\n\n## Execution Interval\nEvery 30 minutes\n\n## Active Hours\n"
        f"{start:%H}:00 - {end:%H}:00 (UTC)\n\n## Checklist\n- If nothing, do nothing (HEARTBEAT_OK)\n"
    )


def _mentions(system: RunningSystem, anima: str) -> list[dict[str, Any]]:
    return [e for e in system.events(anima, "message.received") if e.get("kind") == "mention"]


def _tool_results(llm: ScriptedLLM, anima: str, woke_with: str) -> list[str]:
    """The tool results of ``anima``'s cycle woken with ``woke_with`` (its last model request)."""
    found: list[str] = []
    for request in llm.requests:
        woke, results = since_last_user(request["body"])
        if anima_of(request["body"]) == anima and woke_with in woke:
            found = results
    return found


def _chat(system: RunningSystem, anima: str, text: str) -> None:
    body = system.chat(anima, text, 90.0).json()
    assert body.get("reply"), body


@pytest.fixture(scope="module")
def board(system: RunningSystem, llm: ScriptedLLM) -> RunningSystem:
    _chat(system, "alice", "Create the dev board.")
    assert _tool_results(llm, "alice", "Create the dev board")[0].startswith("Created #dev")
    for name in ("bob", "carol"):
        _chat(system, name, "Join the dev board.")
        assert _tool_results(llm, name, "Join the dev board")[0].startswith("Joined #dev")
    return system


def test_at_name_reaches_that_member_only(board: RunningSystem, llm: ScriptedLLM) -> None:
    _chat(board, "alice", "Ask bob on dev.")

    wait_until(lambda: len(_mentions(board, "bob")) >= 1)
    [mention] = _mentions(board, "bob")
    assert (mention["sender"], mention["channel"]) == ("alice", "dev")
    assert ASK_BOB in mention["text"]
    [result] = _tool_results(llm, "alice", "Ask bob on dev")
    assert "Mentioned: bob." in result and "Not delivered to @dave: not a member of #dev" in result
    # bob's model read the mention: it woke his cycle.
    wait_until(
        lambda: any(anima_of(r["body"]) == "bob" and ASK_BOB in json.dumps(r["body"]) for r in llm.requests)
    )
    assert _mentions(board, "carol") == [] and _mentions(board, "dave") == []


def test_at_all_reaches_every_member_once(board: RunningSystem) -> None:
    _chat(board, "alice", "Call everyone on dev.")

    def standups(anima: str) -> list[dict[str, Any]]:
        return [e for e in _mentions(board, anima) if STANDUP in e["text"]]

    wait_until(lambda: len(standups("bob")) >= 1 and len(standups("carol")) >= 1)
    [post] = [e for e in board.events("alice", "channel.posted") if e["text"] == STANDUP]
    delivered = [
        e for e in board.events("alice", "outbound.delivered") if e["request_id"] == post["request_id"]
    ]
    assert len(delivered) == 1  # the post is settled, its mentions published before that record
    assert len(standups("bob")) == 1 and len(standups("carol")) == 1
    assert standups("alice") == [] and standups("dave") == []


def test_a_post_one_may_not_make_fails_with_the_reason(board: RunningSystem, llm: ScriptedLLM) -> None:
    _chat(board, "dave", "Post on dev.")
    _chat(board, "dave", "Post on nowhere.")

    [not_member] = _tool_results(llm, "dave", "Post on dev")
    [missing] = _tool_results(llm, "dave", "Post on nowhere")
    assert "not delivered: only members post on #dev; join it first" in not_member
    assert "not delivered: there is no board #nowhere" in missing
    refusals = board.events("dave", "messaging.refused")
    assert sorted((r["to"], r["rule"]) for r in refusals) == [("dev", "board"), ("nowhere", "board")]
    assert [e for e in board.events("dave", "channel.posted")] == []


def test_reading_pages_back_and_is_recorded(board: RunningSystem, llm: ScriptedLLM) -> None:
    _chat(board, "carol", "Read dev.")

    latest, older = _tool_results(llm, "carol", "Read dev")
    assert "Posts 2-2 of 2" in latest and STANDUP in latest and "before=2" in latest
    assert "Posts 1-1 of 2" in older and ASK_BOB in older
    reads = board.events("carol", "channel.read")
    assert [(r["channel"], r["posts"], r.get("before")) for r in reads] == [("dev", 1, None), ("dev", 1, 2)]


def test_posts_and_reads_are_in_the_activity_log_and_recent_activity(
    board: RunningSystem, llm: ScriptedLLM
) -> None:
    def logged(anima: str) -> list[dict[str, Any]]:
        folder = board.home / "animas" / anima / "activity_log"
        return [
            json.loads(line) for f in sorted(folder.glob("*.jsonl")) for line in f.read_text().splitlines()
        ]

    wait_until(lambda: any(e.get("type") == "channel_post" for e in logged("alice")))
    wait_until(lambda: any(e.get("type") == "channel_read" for e in logged("carol")))
    _chat(board, "alice", "What happened lately?")
    prompt = next(
        json.dumps(r["body"])
        for r in reversed(llm.requests)
        if anima_of(r["body"]) == "alice" and "What happened lately" in json.dumps(r["body"])
    )
    recent = prompt.split("## Recent activity", 1)[1].split("---", 1)[0]
    assert "standup at 10" in recent, recent


def test_a_rebuild_reproduces_the_board(board: RunningSystem, llm: ScriptedLLM) -> None:
    # A row no event made: a rebuild from the stream alone must drop it.
    with contextlib.closing(sqlite3.connect(board.home / "boards" / "boards.db")) as db, db:
        db.execute("INSERT INTO posts VALUES ('dev', 99, 'bogus', 'mallory', 'forged', '', '')")
    board.anima("replay", "rebuild")
    _chat(board, "carol", "Read dev again: Read dev.")

    latest, older = _tool_results(llm, "carol", "Read dev again")
    assert "2 members: bob, carol" not in latest  # alice, bob and carol are members
    assert "3 members: alice, bob, carol" in latest
    assert "Posts 2-2 of 2" in latest and STANDUP in latest and "[1]" in older and ASK_BOB in older
    assert "forged" not in latest
