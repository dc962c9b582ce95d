"""`anima identity --approve`: the approval record, how a proposal shows, and bad input."""

from __future__ import annotations

from datetime import UTC, datetime

from typer.testing import CliRunner

from animas_contracts import decode_event, derive_id, encode_event
from animas_contracts.identity import IdentityProposed
from animas_tools.cli import app
from animas_tools.events import summary
from animas_tools.identity_approval import approval

PROPOSAL = IdentityProposed(
    id="p-1",
    anima="clerk",
    correlation_id="run-1",
    causation_id="run-1",
    producer="consolidator",
    ts=datetime(2026, 12, 7, 2, 0, tzinfo=UTC),
    run_id="run-1",
    content="# Identity: clerk\n\nA formal assistant.\n",
    reason="people asked for formality",
    citations=["episodes/2026-12-06.md:7: formally"],
    changed_lines=4,
    limit=3,
)


def test_an_approval_applies_the_proposal_as_the_person_under_an_id_derived_from_it() -> None:
    revision = approval(PROPOSAL, "yamada")
    assert decode_event(encode_event(revision)) == revision
    assert (revision.anima, revision.content, revision.author) == ("clerk", PROPOSAL.content, "yamada")
    assert revision.id == derive_id("p-1", "approved") == approval(PROPOSAL, "sato").id  # approved once
    assert revision.causation_id == "p-1" and "approved proposal p-1: people asked" in revision.reason


def test_anima_events_shows_how_to_approve_a_proposal() -> None:
    line = summary(PROPOSAL)
    assert line == "4 changed lines (limit 3), waits for approval: anima identity clerk --approve p-1"


def test_identity_needs_exactly_one_of_a_file_or_a_proposal(tmp_path: object) -> None:
    runner = CliRunner()
    neither = runner.invoke(app, ["identity", "clerk"])
    both = runner.invoke(app, ["identity", "clerk", "--file", "x.md", "--approve", "p-1"])
    for result in (neither, both):
        assert result.exit_code != 0
        assert "give exactly one of --file" in result.output
