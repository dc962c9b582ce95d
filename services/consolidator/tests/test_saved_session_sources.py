"""Saved sessions count for the day agent-runner saved them on (its names start YYYYMMDD)."""

from __future__ import annotations

from datetime import date

import pytest

from animas_consolidator.domain.sources import is_archive_of

DAY = date(2026, 4, 20)


@pytest.mark.parametrize(
    ("name", "of_the_day"),
    [
        ("20260420-0192c3d4-1.md", True),  # as agent-runner's continuity names it
        ("2026-04-20-notes.md", True),
        ("20260419-0192c3d4-1.md", False),
        ("20260420-0192c3d4-1.txt", False),
        ("notes.md", False),
    ],
)
def test_a_saved_session_belongs_to_the_day_in_its_name(name: str, of_the_day: bool) -> None:
    assert is_archive_of(name, DAY) is of_the_day
