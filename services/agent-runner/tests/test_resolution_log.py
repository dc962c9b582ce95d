"""The organization's resolution log in every prompt (issue #13 item 4): small, recent, newest first."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from animas_agent_runner.prompt import build_system_prompt
from animas_agent_runner.prompt.inputs import PromptInputs, PromptTrigger
from animas_agent_runner.prompt.resolutions import MAX_ENTRIES, resolution_log
from animas_contracts import TaskRecord, TaskRelation, TaskState

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=TOKYO)


def _task(title: str, updated_at: str, state: TaskState = TaskState.DONE) -> TaskRecord:
    return TaskRecord(
        task_id=title,
        title=title,
        detail="",
        relation=TaskRelation.OWN,
        state=state,
        counterpart=None,
        created_at="2026-11-01T00:00:00+00:00",
        updated_at=updated_at,
    )


def test_the_log_lists_done_tasks_of_the_last_seven_days_newest_first_in_the_readers_zone() -> None:
    log = resolution_log(
        [
            ("suzuki", [_task("Fixed the   login bug", "2026-11-19T16:00:00+00:00")]),
            (
                "tanaka",
                [
                    _task("Rotated the API keys", "2026-11-14T00:00:00+00:00"),
                    _task("Too old", "2026-11-12T23:59:00+00:00"),
                    _task("Still open", "2026-11-19T00:00:00+00:00", TaskState.IN_PROGRESS),
                    _task("Cancelled", "2026-11-19T00:00:00+00:00", TaskState.CANCELLED),
                    _task("Garbled", "yesterday"),
                    _task("From the future", "2026-11-21T00:00:00+00:00"),
                ],
            ),
        ],
        NOW,
    )
    # 16:00 UTC on the 19th is the 20th in Tokyo.
    assert log == "- 2026-11-20 suzuki: Fixed the login bug\n- 2026-11-14 tanaka: Rotated the API keys"


def test_the_log_is_bounded() -> None:
    many = [_task(f"Task {n} " + "x" * 200, f"2026-11-19T0{n % 10}:00:00+00:00") for n in range(25)]
    lines = resolution_log([("tanaka", many)], NOW).splitlines()
    assert len(lines) == MAX_ENTRIES + 1 and lines[-1] == f"- … and {25 - MAX_ENTRIES} more"
    assert all(len(line) < 140 for line in lines)
    assert resolution_log([("tanaka", [])], NOW) == ""


def test_the_prompt_shows_the_log_under_the_current_work() -> None:
    inputs = PromptInputs(
        anima="sato",
        now=NOW,
        trigger=PromptTrigger.CHAT,
        mode="litellm",
        workspace="/workspace/sato",
        identity="# Sato",
        resolutions="- 2026-11-20 suzuki: Fixed the login bug",
    )
    text = build_system_prompt(inputs, 200_000).text
    assert "## Resolved in the organization (last 7 days; ask who solved it)" in text
    assert "- 2026-11-20 suzuki: Fixed the login bug" in text
    assert PromptInputs.from_dict(inputs.to_dict()).resolutions == inputs.resolutions
    empty = build_system_prompt(PromptInputs.from_dict({**inputs.to_dict(), "resolutions": ""}), 200_000)
    assert "Resolved in the organization" not in empty.text
