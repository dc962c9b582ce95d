"""Pure parts of daily consolidation: the decision schema, citation checks, the fallback and the plan."""

from __future__ import annotations

import json

import pytest

from animas_consolidator.domain.candidates import MergeCandidate
from animas_consolidator.domain.citations import is_knowledge_path, rejection
from animas_consolidator.domain.decisions import (
    Citation,
    Create,
    InvalidAnswer,
    Merge,
    Skip,
    Supersede,
    parse_answer,
)
from animas_consolidator.domain.fallback import fallback_decisions
from animas_consolidator.domain.lessons import explicit_lessons
from animas_consolidator.domain.plan import plan, slug
from animas_consolidator.domain.sources import SourceKind, SourceLine, by_ref

CORRECTION = "Too casual. Tanaka-san is a client: always use formal business language."
SOURCES = [
    SourceLine("episodes/2026-12-06.md:4", "- Trigger: Message received (from human)", SourceKind.EPISODE),
    SourceLine("state/conversations/human.json#m1", CORRECTION, SourceKind.CONVERSATION, from_peer=True),
]
LESSON = "Tanaka-san is a client: always use formal business language."
CITE = Citation(ref="state/conversations/human.json#m1", quote=LESSON)
EXISTING = {"knowledge/clients.md": "---\norigin: human\n---\n\n# Clients\n\nTanaka-san pays on the 25th.\n"}


def test_a_model_answer_is_parsed_into_decisions_even_inside_a_code_fence() -> None:
    answer = {
        "decisions": [
            {
                "action": "create",
                "title": "Tanaka-san",
                "content": LESSON,
                "citations": [{"ref": CITE.ref, "quote": LESSON}],
            },
            {"action": "skip", "reason": "small talk"},
        ]
    }
    decisions = parse_answer("Here you are:\n```json\n" + json.dumps(answer) + "\n```").decisions
    assert decisions == [
        Create(title="Tanaka-san", content=LESSON, citations=[CITE]),
        Skip(reason="small talk"),
    ]


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ("I think we should remember the client rule.", "no JSON object"),
        ('{"decisions": [{"action": "create", "title": "x"', "no JSON object"),
        (
            '{"decisions": [{"action": "forget", "path": "knowledge/a.md"}]}',
            "does not match the decision schema",
        ),
        (
            '{"decisions": [{"action": "create", "title": "", "content": "x", "citations": []}]}',
            "does not match",
        ),
        ('{"decisions": "all of them"}', "does not match"),
        ('{"decisions": [}', "not valid JSON"),
    ],
)
def test_a_bad_model_answer_is_an_invalid_answer_saying_why(answer: str, why: str) -> None:
    with pytest.raises(InvalidAnswer, match=why):
        parse_answer(answer)


def test_a_decision_must_cite_lines_that_are_in_the_sources() -> None:
    lines, known = by_ref(SOURCES), set(EXISTING)
    assert rejection(Create(title="t", content=LESSON, citations=[CITE]), lines, known) is None
    invented = Citation(ref="episodes/2026-12-06.md:99", quote="the client likes jokes")
    assert "not among the day's sources" in (
        rejection(Create(title="t", content="x", citations=[invented]), lines, known) or ""
    )
    misquoted = Citation(ref=CITE.ref, quote="the client likes jokes")
    assert "is not in state/conversations/human.json#m1" in (
        rejection(Create(title="t", content="x", citations=[misquoted]), lines, known) or ""
    )
    assert "cites no source line" in (
        rejection(Create(title="t", content="x", citations=[]), lines, known) or ""
    )
    assert "not an existing knowledge file" in (
        rejection(Merge(path="knowledge/nope.md", content="x", citations=[CITE]), lines, known) or ""
    )
    assert rejection(Skip(reason="nothing"), lines, known) is None
    # Spacing and case aside, the quote must be the line's own words.
    loose = Citation(ref=CITE.ref, quote="tanaka-san is a client:   ALWAYS use formal")
    assert rejection(Merge(path="knowledge/clients.md", content="x", citations=[loose]), lines, known) is None


def test_only_markdown_under_knowledge_is_a_knowledge_path() -> None:
    assert is_knowledge_path("knowledge/clients.md")
    assert not is_knowledge_path("knowledge/../identity.md")
    assert not is_knowledge_path("identity.md")
    assert not is_knowledge_path("/etc/passwd")


def test_the_fallback_creates_new_lessons_merges_duplicates_and_says_what_it_skipped() -> None:
    lessons = explicit_lessons(SOURCES)
    decisions = fallback_decisions(lessons, {}, SOURCES)
    assert decisions[0] == Create(
        title="Tanaka-san is a client: always use formal business …", content=LESSON, citations=[CITE]
    )
    assert isinstance(decisions[1], Skip) and decisions[1].reason.startswith(
        "1 source line(s) state no explicit lesson"
    )
    merged = fallback_decisions(
        lessons, {0: MergeCandidate("knowledge/clients.md", 0.8, exact=False)}, SOURCES
    )
    assert merged[0] == Merge(path="knowledge/clients.md", content=LESSON, citations=[CITE])
    assert all(rejection(d, by_ref(SOURCES), set(EXISTING)) is None for d in decisions + merged)


def test_a_created_file_cites_its_sources_and_its_key_is_stable() -> None:
    decision = Create(title="Tanaka-san is a client", content=LESSON, citations=[CITE])
    first = plan([decision], EXISTING, "2026-12-06")
    assert first == plan([decision], EXISTING, "2026-12-06")
    (op,) = first.ops
    assert op.action == "create" and op.op.path == "knowledge/tanaka-san-is-a-client.md"
    assert op.op.content == (
        f"# Tanaka-san is a client\n\n{LESSON}\n\n## Sources\n"
        f'- 2026-12-06 state/conversations/human.json#m1: "{LESSON}"'
    )
    assert op.op.frontmatter == {"origin": "consolidation", "sources": CITE.ref, "consolidated": "2026-12-06"}


def test_merges_build_on_each_other_and_an_exact_duplicate_adds_only_its_citation() -> None:
    other = Citation(ref="episodes/2026-12-06.md:4", quote="Message received")
    result = plan(
        [
            Merge(path="knowledge/clients.md", content=LESSON, citations=[CITE]),
            Merge(path="knowledge/clients.md", content=LESSON, citations=[other]),
            Merge(path="knowledge/clients.md", content=LESSON, citations=[other]),
        ],
        EXISTING,
        "2026-12-06",
    )
    assert [op.action for op in result.ops] == ["merge", "merge"]
    last = result.ops[-1].op
    assert last.content.count(LESSON) == 2  # the text once, and its quote under Sources
    assert "Tanaka-san pays on the 25th." in last.content
    assert last.frontmatter["sources"] == f"{CITE.ref}; {other.ref}" and last.frontmatter["origin"] == "human"
    assert result.skips == ("already known: knowledge/clients.md says it and cites the same lines",)


def test_supersede_replaces_the_body_and_a_created_name_never_overwrites() -> None:
    result = plan(
        [
            Supersede(path="knowledge/clients.md", content="Tanaka-san left the company.", citations=[CITE]),
            Create(title="Clients", content=LESSON, citations=[CITE]),
            Skip(reason="small talk"),
        ],
        EXISTING,
        "2026-12-06",
    )
    assert result.ops[0].op.content.startswith("Tanaka-san left the company.\n\n## Sources")
    assert result.ops[1].op.path == "knowledge/clients-2.md"
    assert result.skips == ("small talk",)
    assert slug("請求書 / 月末!") == "請求書-月末"
