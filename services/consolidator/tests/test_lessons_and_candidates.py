"""Pure parts of daily consolidation: source lines, explicit lessons, similarity and merge candidates."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import msgspec
import pytest

from animas_consolidator.domain.candidates import best_match, merge_candidates, split_frontmatter
from animas_consolidator.domain.lessons import explicit_lessons, lessons_of
from animas_consolidator.domain.similarity import MERGE_THRESHOLD, similarity
from animas_consolidator.domain.sources import (
    SourceKind,
    SourceLine,
    UnreadableConversation,
    conversation_lines,
    day_window,
    file_lines,
    scheduled_day,
)
from animas_contracts import Conversation, ConversationTurn, TurnRole

TOKYO = ZoneInfo("Asia/Tokyo")
CORRECTION = "Too casual. Tanaka-san is a client: always use formal business language."


def _turn(turn_id: str, role: TurnRole, text: str, ts: datetime) -> ConversationTurn:
    return ConversationTurn(id=turn_id, role=role, text=text, ts=ts)


def test_the_day_is_the_anima_zones_day() -> None:
    start, end = day_window(date(2026, 12, 6), TOKYO)
    assert start == datetime(2026, 12, 5, 15, 0, tzinfo=UTC)
    assert end == datetime(2026, 12, 6, 15, 0, tzinfo=UTC)
    # A run scheduled at 02:00 Tokyo on the 7th consolidates the 6th, although it is still the 6th in UTC.
    assert scheduled_day(datetime(2026, 12, 6, 17, 0, tzinfo=UTC), TOKYO) == date(2026, 12, 6)


def test_conversation_turns_of_the_day_only_each_citable_by_its_id() -> None:
    conversation = Conversation(
        peer="human",
        turns=(
            _turn("m0", TurnRole.USER, "yesterday's words", datetime(2026, 12, 5, 14, 59, tzinfo=UTC)),
            _turn("m1", TurnRole.USER, CORRECTION, datetime(2026, 12, 5, 15, 0, tzinfo=UTC)),
            _turn(
                "r1", TurnRole.ASSISTANT, "I will always be formal.", datetime(2026, 12, 5, 15, 1, tzinfo=UTC)
            ),
        ),
    )
    start, end = day_window(date(2026, 12, 6), TOKYO)
    lines = conversation_lines(
        "state/conversations/human.json", msgspec.json.encode(conversation).decode(), start, end
    )
    assert [(line.ref, line.from_peer) for line in lines] == [
        ("state/conversations/human.json#m1", True),
        ("state/conversations/human.json#r1", False),
    ]
    with pytest.raises(UnreadableConversation, match=r"human\.json"):
        conversation_lines("state/conversations/human.json", "[1, 2]", start, end)


def test_file_lines_are_numbered_and_headings_left_out() -> None:
    text = "# 2026-12-06 Action Log\n\n## 10:00 Reply to human\n- Trigger: Message\n- Lesson: None\n"
    lines = file_lines("episodes/2026-12-06.md", text, SourceKind.EPISODE)
    assert [(line.ref, line.text) for line in lines] == [
        ("episodes/2026-12-06.md:4", "- Trigger: Message"),
        ("episodes/2026-12-06.md:5", "- Lesson: None"),
    ]


def _line(ref: str, text: str, kind: SourceKind = SourceKind.EPISODE, from_peer: bool = False) -> SourceLine:
    return SourceLine(ref=ref, text=text, kind=kind, from_peer=from_peer)


def test_explicit_lessons_come_from_lesson_fields_important_marks_and_rules_people_state() -> None:
    lines = [
        _line("e:1", "- Lesson: Check the invoice number before replying"),
        _line("e:2", "- Lesson: None"),
        _line("e:3", "- [IMPORTANT] The VPN is down on Sundays"),
        _line("e:4", "- Result: Replied: I will always answer within a day"),
        _line("c#1", CORRECTION, SourceKind.CONVERSATION, from_peer=True),
        _line("c#2", "Understood, I will never be casual with clients.", SourceKind.CONVERSATION),
        _line("s:1", "Note to self. lesson: keep drafts short"),
        _line("j#1", "請求書は必ず月末までに送ってください。", SourceKind.CONVERSATION, from_peer=True),
    ]
    found = explicit_lessons(lines)
    assert [(lesson.text, lesson.citations[0].ref) for lesson in found] == [
        ("Check the invoice number before replying", "e:1"),
        ("The VPN is down on Sundays", "e:3"),
        ("Tanaka-san is a client: always use formal business language.", "c#1"),
        ("keep drafts short", "s:1"),
        ("請求書は必ず月末までに送ってください。", "j#1"),
    ]
    # Each citation quotes its line verbatim, so the fallback's decisions pass the citation check.
    for lesson in found:
        assert all(c.quote in {line.ref: line.text for line in lines}[c.ref] for c in lesson.citations)


def test_duplicate_lessons_of_a_day_become_one_citing_every_line() -> None:
    lines = [
        _line("e:5", "- Lesson: Always use formal business language with Tanaka-san"),
        _line("e:9", "- Lesson: always use formal business language with Tanaka-san."),
        _line("e:12", "- Lesson: The printer on floor 3 jams"),
    ]
    found = explicit_lessons(lines)
    assert len(found) == 2
    assert [c.ref for c in found[0].citations] == ["e:5", "e:9"]
    assert lessons_of(_line("e:1", "- Lesson: n/a")) == []


def test_similarity_is_symmetric_bounded_and_handles_japanese() -> None:
    a, b = (
        "always use formal business language with clients",
        "use formal business language with clients always",
    )
    assert similarity(a, b) == pytest.approx(1.0)
    assert similarity(a, "the printer jams") == 0.0
    assert similarity("", a) == 0.0
    assert similarity("請求書は月末までに送る", "請求書は必ず月末までに送る") > MERGE_THRESHOLD
    assert similarity("請求書は月末までに送る", "会議は火曜日") < 0.3


KNOWLEDGE = {
    "knowledge/clients.md": (
        "---\ncreated: 2026-12-01\n---\n\n# Clients\n\n"
        "- Tanaka-san is a client: use formal business language.\n"
    ),
    "knowledge/printer.md": "# Printer\n\nThe printer on floor 3 jams on A3 paper.\n",
}


def test_a_near_duplicate_of_existing_knowledge_is_a_merge_candidate() -> None:
    match = best_match("Tanaka-san is a client: always use formal business language.", KNOWLEDGE)
    assert match is not None and match.path == "knowledge/clients.md" and not match.exact
    assert match.score >= MERGE_THRESHOLD
    exact = best_match("The printer on floor 3 jams on A3 paper", KNOWLEDGE)
    assert exact is not None and exact.exact and exact.path == "knowledge/printer.md"
    assert best_match("Deploys happen on Thursdays", KNOWLEDGE) is None


def test_merge_candidates_are_keyed_by_lesson_position() -> None:
    lessons = explicit_lessons(
        [
            _line("e:1", "- Lesson: Deploys happen on Thursdays"),
            _line("e:2", "- Lesson: The printer on floor 3 jams on A3 paper"),
        ]
    )
    found = merge_candidates(lessons, KNOWLEDGE)
    assert list(found) == [1] and found[1].path == "knowledge/printer.md"


def test_frontmatter_is_split_like_memory_writer_writes_it() -> None:
    fields, body = split_frontmatter('---\nsources: "a#1; b:2"\nupdated: x\n---\n\n# Body\n')
    assert fields == {"sources": "a#1; b:2", "updated": "x"}
    assert body == "# Body\n"
    assert split_frontmatter("no frontmatter") == ({}, "no frontmatter")
