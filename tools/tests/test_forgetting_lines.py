"""How forgetting shows in ``anima events``, ``anima consolidate`` and ``anima restore``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from animas_contracts import (
    ConsolidationFinished,
    ConsolidationKind,
    ConsolidationStatus,
    ForgettingDownscaled,
    LowActivityMark,
    MemoryForgotten,
    RestoreMemory,
)
from animas_tools.consolidate_cli import describe
from animas_tools.events import summary
from animas_tools.restore_cli import original_path, restore_event

ENV: dict[str, Any] = {
    "id": "e",
    "anima": "keeper",
    "correlation_id": "run",
    "producer": "consolidator",
    "ts": datetime(2026, 4, 20, 2, 0, tzinfo=UTC),
}


def test_the_tombstone_line_names_the_path_and_the_reason() -> None:
    tombstone = MemoryForgotten(
        **ENV,
        run_id="run",
        path="knowledge/printer.md",
        archived_to="archive/knowledge/printer.md",
        reason="low activity for 105 days",
        low_since="2026-01-05",
    )
    assert summary(tombstone) == "knowledge/printer.md archived: low activity for 105 days"
    marks = [LowActivityMark(path="knowledge/printer.md", since="2026-01-05")]
    downscaled = ForgettingDownscaled(**ENV, run_id="run", date="2026-04-20", marks=marks)
    assert summary(downscaled) == "1 marked low-activity on 2026-04-20: knowledge/printer.md"


def test_a_run_that_forgot_says_how_many_and_one_that_did_not_says_nothing_of_it() -> None:
    done = ConsolidationFinished(
        **ENV, run_id="run", kind=ConsolidationKind.DAILY, date="2026-04-20", status=ConsolidationStatus.OK
    )
    assert "forgotten" not in summary(done) and "forgotten" not in "\n".join(describe(done))
    forgot = ConsolidationFinished(
        **{**ENV, "id": "f"},
        run_id="run",
        kind=ConsolidationKind.DAILY,
        date="2026-04-20",
        status=ConsolidationStatus.OK,
        forgotten=2,
    )
    assert summary(forgot).endswith("skipped 0, forgotten 2")
    assert "  created 0, merged 0, superseded 0, skipped 0, forgotten 2" in describe(forgot)


def test_restore_takes_the_path_as_it_was_or_as_it_lies_in_the_archive() -> None:
    assert original_path("knowledge/printer.md") == "knowledge/printer.md"
    assert original_path("archive/knowledge/printer.md") == "knowledge/printer.md"
    assert original_path("./knowledge/printer.md") == "knowledge/printer.md"
    assert original_path("../secrets.md") == "../secrets.md"  # left for memory-writer to refuse
    event = restore_event("keeper", "knowledge/printer.md")
    assert event.op == RestoreMemory(path="knowledge/printer.md") and event.producer == "cli"
