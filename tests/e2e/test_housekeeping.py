"""Housekeeping through the running system (issue #13 item 8): retention in the daily run.

An anima is created with 105 saved sessions (``shortterm/archive/``, named as agent-runner names
them) and a conversation archive holding a turn from long ago and one dated far ahead (kept
whatever day the test runs). ``anima consolidate --date`` on the day after its creation (the
date recorded on its ``anima.created`` event, never the wall clock) deletes the 5 oldest
sessions and drops the old turn, each as a ``memory.op.requested`` from the consolidator, so
``anima replay rebuild`` from the stream alone ends with the same files, byte for byte.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from tests.conftest import RunningSystem, start_system

from animas_contracts import ConversationTurn, MemoryOpApplied, TurnRole
from animas_core.anima_files import AnimaSpec, template_files
from animas_tools.animas_cli import creation_event
from animas_tools.publish import publish_change

pytestmark = [pytest.mark.e2e, pytest.mark.nats, pytest.mark.slow]

ANIMA = "tidy"
SESSIONS = "shortterm/archive/"
ARCHIVE = "state/conversations/boss.archive.jsonl"
LONG_AGO = datetime.fromisoformat("2001-01-01T09:00:00+00:00")
AHEAD = datetime.fromisoformat("2100-01-01T09:00:00+00:00")


def _session_names(count: int) -> list[str]:
    first = date(2026, 1, 1).toordinal()
    return [f"{date.fromordinal(first + i):%Y%m%d}-cycle{i:03d}-1.md" for i in range(count)]


def _turn(turn_id: str, ts: datetime) -> str:
    return (
        msgspec.json.encode(ConversationTurn(id=turn_id, role=TurnRole.USER, text=turn_id, ts=ts)).decode()
        + "\n"
    )


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    running = start_system(tmp_path_factory.mktemp("housekeeping") / "home")
    try:
        running.configure(
            {"version": 1, "animas": {ANIMA: {}}, "housekeeping": {"conversation_archive_days": 30}}
        )
        files = template_files(AnimaSpec(name=ANIMA, role="general"), "general")
        files |= {SESSIONS + name: f"# Saved session {name}\n" for name in _session_names(105)}
        files[ARCHIVE] = _turn("long-ago", LONG_AGO) + _turn("ahead", AHEAD)
        answer = running.admin(
            lambda nc: publish_change(nc, creation_event(ANIMA, files, "template:general"), timeout_s=60)
        )
        assert isinstance(answer, MemoryOpApplied), answer
        yield running
    finally:
        running.stop()


def _events(system: RunningSystem, event_type: str) -> list[dict[str, Any]]:
    out = system.anima("events", "--anima", ANIMA, "--type", event_type, "--json").stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def _saved(root: Path) -> list[str]:
    return sorted(p.name for p in (root / SESSIONS).iterdir() if p.is_file())


def test_the_daily_run_keeps_the_newest_100_saved_sessions_and_a_rebuild_agrees(
    system: RunningSystem,
) -> None:
    root = system.home / "animas" / ANIMA
    assert len(_saved(root)) == 105
    (created,) = _events(system, "anima.created")
    day = (datetime.fromisoformat(created["ts"]).date() + timedelta(days=1)).isoformat()
    out = system.anima("consolidate", ANIMA, "--date", day).stdout
    print(out)

    kept = _saved(root)
    assert kept == _session_names(105)[5:]
    assert (root / ARCHIVE).read_text(encoding="utf-8") == _turn("ahead", AHEAD)
    requests = _events(system, "memory.op.requested")
    deletions = [r for r in requests if r["op"]["kind"] == "memory.delete"]
    assert sorted(r["op"]["path"] for r in deletions) == [SESSIONS + n for n in _session_names(5)]
    assert all(r["producer"] == "consolidator" for r in deletions)
    (trim,) = [r for r in requests if r["op"]["kind"] == "conversation.archive.trim"]
    assert trim["op"]["path"] == ARCHIVE

    # The stream alone rebuilds the directory: the deletions are events, so the rebuild agrees.
    before = {p: (root / SESSIONS / p).read_bytes() for p in kept}
    print(system.anima("replay", "rebuild", "--anima", ANIMA).stdout)
    assert _saved(root) == kept
    assert {p: (root / SESSIONS / p).read_bytes() for p in kept} == before
    assert (root / ARCHIVE).read_text(encoding="utf-8") == _turn("ahead", AHEAD)
