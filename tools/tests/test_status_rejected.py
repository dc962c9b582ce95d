"""`anima status` lists the schedules the scheduler could not read, under its entry."""

from __future__ import annotations

from animas_tools.status_cli import rejected_schedule_lines


def test_each_rejected_schedule_is_one_line() -> None:
    record: dict[str, object] = {
        "service": "scheduler",
        "rejected_schedules": [
            {
                "anima": "bob",
                "file": "cron.md",
                "schedule": "## Broken (every blue moon)",
                "reason": "not understood",
            },
            "not a record",
        ],
    }
    assert rejected_schedule_lines(record) == [
        "rejected schedule: bob cron.md ## Broken (every blue moon): not understood"
    ]
    assert rejected_schedule_lines({"service": "gateway"}) == []
