"""Contradiction candidates by subject: the prompt's supersede candidates and what the fallback supersedes."""

from __future__ import annotations

from animas_consolidator.domain import day_decision
from animas_consolidator.domain.contradictions import contradiction_candidates, corrections, title_of_file
from animas_consolidator.domain.day_decision import DayInputs
from animas_consolidator.domain.decisions import Create, Skip, Supersede
from animas_consolidator.domain.plan import plan
from animas_consolidator.domain.sources import SourceKind, SourceLine

TANAKA = (
    "---\norigin: consolidation\n---\n\n# Tanaka-san contact preference\n\n"
    'Tanaka-san prefers email.\n\n## Sources\n- 2026-12-01 episodes/2026-12-01.md:3: "prefers email"\n'
)
DEPLOY = "# Deploy window\n\nDeploys happen on Fridays after 18:00.\n"
FILES = {"knowledge/tanaka-san-contact.md": TANAKA, "knowledge/deploy.md": DEPLOY}


def _peer(text: str, ref: str = "state/conversations/tanaka.json#t1") -> SourceLine:
    return SourceLine(ref=ref, text=text, kind=SourceKind.CONVERSATION, from_peer=True)


def _episode(text: str, ref: str = "episodes/2026-12-06.md:4") -> SourceLine:
    return SourceLine(ref=ref, text=text, kind=SourceKind.EPISODE)


CORRECTION = _peer("Tanaka-san no longer prefers email; Tanaka-san prefers phone now.")


def _inputs(*sources: SourceLine, model: str | None = None) -> DayInputs:
    return DayInputs("aoi", "2026-12-06", sources, tuple(sorted(FILES)), FILES, model)


def test_the_subject_line_is_the_title_field_or_the_first_heading() -> None:
    assert title_of_file(TANAKA) == "Tanaka-san contact preference"
    assert title_of_file("---\ntitle: Clients\n---\n\n# Other\n") == "Clients"
    assert title_of_file("no heading at all") == ""


def test_only_lines_with_a_change_cue_are_corrections() -> None:
    lines = [
        _peer("Thanks, see you tomorrow."),
        CORRECTION,
        _peer("田中さんはメールではなく電話が好きです。"),
    ]
    assert corrections(lines) == [lines[1], lines[2]]


def test_a_persons_correction_naming_the_old_fact_is_an_explicit_candidate_of_that_subject_only() -> None:
    found = contradiction_candidates([CORRECTION], FILES)
    assert [(c.path, c.statement, c.explicit) for c in found] == [
        ("knowledge/tanaka-san-contact.md", "Tanaka-san prefers email.", True)
    ]


def test_a_line_repeating_what_is_known_or_about_another_subject_is_no_candidate() -> None:
    assert contradiction_candidates([_peer("As I said, Tanaka-san prefers email. Noted now.")], FILES) == []
    assert contradiction_candidates([_peer("The printer is no longer on floor 3.")], FILES) == []


def test_a_correction_not_said_by_a_person_or_not_naming_the_old_fact_is_not_explicit() -> None:
    own = contradiction_candidates([_episode("Tanaka-san no longer prefers email; phone now.")], FILES)
    vague = contradiction_candidates([_peer("Tanaka-san contact preference changed now.")], FILES)
    assert [c.explicit for c in own] == [False]
    assert [c.explicit for c in vague] == [False]


def test_a_japanese_correction_by_a_person_is_explicit() -> None:
    files = {"knowledge/tanaka.md": "# 田中さんの連絡方法\n\n田中さんはメールを好む。\n"}
    found = contradiction_candidates([_peer("田中さんはもうメールを好まない、電話に変わった。")], files)
    assert [(c.path, c.explicit) for c in found] == [("knowledge/tanaka.md", True)]


def test_the_prompt_lists_the_candidate_and_shows_the_file() -> None:
    user = day_decision.messages(_inputs(CORRECTION, model="m"))[1]["content"]
    assert "## Contradiction candidates" in user
    assert 'knowledge/tanaka-san-contact.md says "Tanaka-san prefers email."' in user
    assert "[state/conversations/tanaka.json#t1]" in user
    assert "### knowledge/tanaka-san-contact.md" in user


def test_without_a_model_an_explicit_correction_supersedes_the_statement_and_keeps_the_sources() -> None:
    inputs = _inputs(CORRECTION)
    decisions = day_decision.fallback(inputs)
    supersedes = [d for d in decisions if isinstance(d, Supersede)]
    assert [d.path for d in supersedes] == ["knowledge/tanaka-san-contact.md"]
    assert not [d for d in decisions if isinstance(d, Create)]
    accepted, rejections = day_decision.checked(inputs, decisions)
    assert rejections == []
    result = plan(accepted, inputs.plan_texts(), inputs.day)
    [op] = [o for o in result.ops if o.action == "supersede"]
    assert "Tanaka-san prefers email." not in op.op.content
    assert CORRECTION.text in op.op.content
    assert "2026-12-01 episodes/2026-12-01.md:3" in op.op.content
    assert "2026-12-06 state/conversations/tanaka.json#t1" in op.op.content


def test_without_a_model_a_weak_contradiction_is_skipped_and_the_run_says_why() -> None:
    decisions = day_decision.fallback(_inputs(_episode("Tanaka-san no longer prefers email; phone now.")))
    assert not [d for d in decisions if isinstance(d, Supersede)]
    reasons = [d.reason for d in decisions if isinstance(d, Skip)]
    assert any(
        "may contradict knowledge/tanaka-san-contact.md" in r and "no explicit correction" in r
        for r in reasons
    )
