"""`anima consolidate`: the event it publishes, what it prints, and how `anima events` shows a run."""

from __future__ import annotations

from datetime import UTC, date, datetime

from typer.testing import CliRunner

from animas_contracts import (
    ConsolidationFinished,
    ConsolidationKind,
    ConsolidationMethod,
    ConsolidationStatus,
    ScheduledBy,
    decode_event,
    encode_event,
)
from animas_tools.cli import app
from animas_tools.consolidate_cli import consolidation_due, describe
from animas_tools.events import summary


def test_a_manual_consolidation_is_a_due_event_fired_by_hand_for_one_day() -> None:
    now = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    event = consolidation_due("clerk", ConsolidationKind.DAILY, date(2026, 12, 5), now)
    assert decode_event(encode_event(event)) == event
    assert (event.scheduled_by, event.date, event.fire_at, event.producer) == (
        ScheduledBy.MANUAL,
        "2026-12-05",
        now,
        "cli",
    )
    assert summary(event) == "daily for 2026-12-05 by manual"


def _finished(**fields: object) -> ConsolidationFinished:
    base: dict[str, object] = {
        "anima": "clerk",
        "correlation_id": "run",
        "producer": "consolidator",
        "run_id": "run",
        "kind": ConsolidationKind.DAILY,
        "date": "2026-12-05",
        "status": ConsolidationStatus.OK,
    }
    return ConsolidationFinished(**{**base, **fields})  # type: ignore[arg-type]


def test_what_a_finished_run_prints() -> None:
    done = _finished(
        method=ConsolidationMethod.FALLBACK,
        fallback_reason="no model configured",
        created=1,
        merged=2,
        skipped=1,
        skips=["3 source line(s) state no explicit lesson"],
        rejections=["create 'x': cites no source line"],
    )
    assert describe(done) == [
        "daily consolidation of clerk for 2026-12-05: ok",
        "  decided fallback (no model configured)",
        "  created 1, merged 2, superseded 0, skipped 1",
        "  skipped: 3 source line(s) state no explicit lesson",
        "  rejected: create 'x': cites no source line",
    ]
    assert summary(done) == "ok fallback: created 1, merged 2, superseded 0, skipped 1, 1 rejected"
    weekly = _finished(
        kind=ConsolidationKind.WEEKLY, status=ConsolidationStatus.NOT_BUILT, error="not built yet"
    )
    assert describe(weekly) == ["weekly consolidation of clerk for 2026-12-05: not_built", "  not built yet"]
    week = _finished(
        kind=ConsolidationKind.WEEKLY, method=ConsolidationMethod.FALLBACK, created=1, summarised=4
    )
    assert describe(week)[2] == "  created 1, merged 0, superseded 0, summarised 4, skipped 0"
    assert summary(week) == "ok fallback: created 1, merged 0, superseded 0, summarised 4, skipped 0"


def test_a_date_that_is_not_a_date_is_refused_before_anything_is_sent() -> None:
    result = CliRunner().invoke(
        app, ["consolidate", "clerk", "--date", "yesterday", "--nats-url", "nats://127.0.0.1:1"]
    )
    assert result.exit_code == 2
    assert "'yesterday' is not a date; use YYYY-MM-DD" in result.output
