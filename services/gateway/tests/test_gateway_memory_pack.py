"""Seed 002's pure parts: external anima names, session entries, and packing to a token budget."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import msgspec
import pytest

from animas_contracts import validate_anima_name
from animas_core.schedules.plan import anima_schedules
from animas_gateway.api import memory_pack as mp
from animas_gateway.api.memory_browser import cycle_priming, knowledge_path, memory_type
from animas_gateway.api.memory_service import external_files
from animas_gateway.api.tokens import count_tokens, truncate_tokens
from animas_gateway.problems import Problem

NOW = mp.temporal(datetime(2026, 3, 1, 9, 30, tzinfo=ZoneInfo("Asia/Tokyo")))


@pytest.mark.parametrize(
    "external_id",
    ["user-42", "User 42", "ユーザー", "a" * 200, "../../etc/passwd", "x.y*z>", "42"],
)
def test_an_external_id_gives_one_valid_name(external_id: str) -> None:
    name = mp.external_anima_name(external_id)
    assert validate_anima_name(name) == name
    assert name.startswith("ext-")
    assert mp.external_anima_name(external_id) == name


def test_ids_that_slug_alike_get_different_names() -> None:
    assert mp.external_anima_name("User 42") != mp.external_anima_name("user-42")
    assert mp.external_anima_name("user-42").startswith("ext-user-42-")


def test_a_repeated_creation_is_the_same_event_and_a_client_id_the_same_event_id() -> None:
    assert mp.creation_id("u1") == mp.creation_id("u1") != mp.creation_id("u2")
    fresh = iter(["f1", "f2"])
    assert mp.extracted_id("a", "e1", lambda: next(fresh)) == mp.extracted_id("a", "e1", lambda: "x")
    assert mp.extracted_id("a", "e1", lambda: "x") != mp.extracted_id("b", "e1", lambda: "x")
    assert mp.extracted_id("a", None, lambda: next(fresh)) == "f1"


def test_the_external_id_is_recorded_in_the_files() -> None:
    files = external_files("ext-u1-12345678", "u1", "Alice")
    assert '"external_id": "u1"' in files["status.json"]
    assert files["identity.md"].startswith("# Identity: ext-u1-12345678\n")
    assert "`u1`" in files["identity.md"]
    assert anima_schedules(files["heartbeat.md"], files["cron.md"], consolidation=None) == []


def test_events_are_validated() -> None:
    good = {"events": [{"type": "message_in", "content": "hi", "time": "2025-01-01T09:00:00Z"}]}
    assert (
        msgspec.json.decode(msgspec.json.encode(good), type=mp.ExtractedEvents).events[0].type == "message_in"
    )
    bad_bodies: list[dict[str, object]] = [
        {"events": []},
        {"events": [{"type": "Bad Type", "content": "x"}]},
        {"events": [{"type": "fact", "content": ""}]},
        {"events": [{"type": "fact", "content": "x" * (mp.MAX_CONTENT_CHARS + 1)}]},
        {"events": [{"type": "fact", "content": "x"}] * (mp.MAX_EVENTS + 1)},
        {"events": [{"type": "fact", "content": "x", "anima": "other"}]},
        {"events": [{"type": "fact", "content": "x", "session_id": "two words"}]},
    ]
    for bad in bad_bodies:
        with pytest.raises(msgspec.ValidationError):
            msgspec.json.decode(msgspec.json.encode(bad), type=mp.ExtractedEvents)


DAY = (
    "# 2025-08-02 Action Log\n\n## 16:05 message_in by alice\n"
    "- Trigger: extracted message_in (session s-1)\n- Said: my cat is Miso\n"
    "- Decision: Kept as a memory\n- Result: Stored\n- Lesson: None\n"
    "\n## 16:06 message_in by bob\n- Trigger: extracted message_in (session s-10)\n- Said: other\n"
    "- Decision: Kept as a memory\n- Result: Stored\n- Lesson: None\n"
)


def test_session_entries_are_the_sessions_own() -> None:
    found = mp.session_entries({"episodes/2025-08-02.md": DAY}, "s-1")
    assert [(i.heading, i.date) for i in found] == [("16:05 message_in by alice", "2025-08-02")]
    assert "my cat is Miso" in found[0].text


def _items(prefix: str, n: int, words: int = 40) -> list[mp.PackedMemory]:
    return [
        mp.PackedMemory(path=f"{prefix}/{i}.md", heading=f"{prefix} {i}", text=" ".join(["word"] * words))
        for i in range(n)
    ]


def test_a_pack_stays_within_its_budget_and_keeps_the_newest_session_entries() -> None:
    session = _items("session", 30)
    pack = mp.build_pack(
        identity="# Identity\n" + "trait " * 2000,
        session=session,
        knowledge=_items("knowledge", 30),
        long_term=_items("long", 30),
        now=NOW,
        max_tokens=1000,
        count=count_tokens,
        truncate=truncate_tokens,
    )
    measured = (
        count_tokens(msgspec.json.encode(NOW).decode())
        + count_tokens(pack.identity)
        + sum(
            count_tokens(f"{i.heading}\n{i.text}") for i in [*pack.session, *pack.knowledge, *pack.long_term]
        )
    )
    assert pack.tokens == measured <= 1000
    assert count_tokens(pack.identity) <= 250 and pack.identity.endswith("…")
    assert pack.session and pack.session == session[-len(pack.session) :]
    assert pack.knowledge and pack.long_term
    assert pack.temporal.time_zone == "Asia/Tokyo" and pack.temporal.weekday == "Sunday"


def test_a_large_budget_keeps_everything() -> None:
    pack = mp.build_pack(
        identity="me",
        session=_items("s", 2),
        knowledge=_items("k", 2),
        long_term=_items("l", 2),
        now=NOW,
        max_tokens=10_000,
        count=count_tokens,
        truncate=truncate_tokens,
    )
    assert (pack.identity, len(pack.session), len(pack.knowledge), len(pack.long_term)) == ("me", 2, 2, 2)


def test_paths_a_person_may_edit_are_knowledge_markdown() -> None:
    assert knowledge_path("knowledge/contacts.md") == "knowledge/contacts.md"
    assert knowledge_path("knowledge/people/tanaka.md") == "knowledge/people/tanaka.md"
    for bad in (
        "identity.md",
        "knowledge/../identity.md",
        "knowledge/x.txt",
        "/knowledge/x.md",
        "knowledge/.md",
    ):
        with pytest.raises(Problem):
            knowledge_path(bad)
    assert memory_type("episodes/2025-01-01.md") == "episodes"
    assert memory_type("activity_log/2025-01-01.jsonl") == "activity"


def test_the_priming_of_a_cycle_comes_from_its_inputs() -> None:
    from animas_contracts import Body, CycleStarted, Trigger

    inputs = {"prompt_inputs": {"priming": "## Related knowledge\n- x", "recent_activity": "- hi"}}
    event = CycleStarted(
        anima="a",
        correlation_id="c",
        producer="agent-runner",
        trigger=Trigger.MESSAGE,
        trigger_event_id="m",
        model="openai/x",
        inputs=Body(size=1, digest="sha256:0", inline=inputs),
    )
    got = cycle_priming(event)
    assert (got.priming, got.recent_activity, got.stored) == ("## Related knowledge\n- x", "- hi", False)
    stored = msgspec.structs.replace(event, inputs=Body(size=1, digest="sha256:1", stored=True))
    assert cycle_priming(stored).stored and cycle_priming(stored).digest == "sha256:1"
