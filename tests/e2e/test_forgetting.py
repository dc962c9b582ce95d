"""Forgetting through the running system (issue #13, acceptance 3).

The clock is moved 100 days by consolidating the day 100 days after the anima was created (the
date recorded on its ``anima.created`` event), never by reading the wall clock: forgetting
compares the run's day with the last recall and the last write of each memory. Only the
unprotected, unused knowledge file is forgotten; the ``[IMPORTANT]`` one, a skill and knowledge
that helped twice stay. The tombstone names the reason, a rebuild from the stream keeps the file
forgotten, and ``anima restore`` brings it back to search.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

import pytest
from tests.conftest import RunningSystem, start_system

from animas_contracts import MemoryOpApplied
from animas_core.anima_files import AnimaSpec, template_files
from animas_tools.animas_cli import creation_event
from animas_tools.publish import publish_change

pytestmark = [pytest.mark.e2e, pytest.mark.nats, pytest.mark.slow]

ANIMA = "keeper"
WRITTEN = "2026-01-05T09:00:00+00:00"
PRINTER = "knowledge/printer.md"
KEPT = ("knowledge/router.md", "knowledge/invoices.md", "skills/escalation.md")
T = TypeVar("T")


def _memories() -> dict[str, str]:
    def knowledge(body: str, **fields: str) -> str:
        header = "".join(f"{k}: {v}\n" for k, v in {"created": WRITTEN, **fields}.items())
        return f"---\n{header}---\n\n{body}\n"

    return {
        PRINTER: knowledge("# Printer\n\nThe printer on floor 3 jams on A3 paper; use the tray bypass."),
        "knowledge/router.md": knowledge(
            "# Router\n\n- [IMPORTANT] Never reboot the core router during business hours."
        ),
        "knowledge/invoices.md": knowledge("# Invoices\n\nInvoices go out on the 25th.", success_count="2"),
        "skills/escalation.md": knowledge("# Escalation\n\nEscalate outages to the on-call engineer."),
    }


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    running = start_system(tmp_path_factory.mktemp("forgetting") / "home")
    try:
        running.configure({"version": 1, "animas": {ANIMA: {}}})
        files = {**template_files(AnimaSpec(name=ANIMA, role="general"), "general"), **_memories()}
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


def _search(system: RunningSystem, query: str) -> list[str]:
    out = system.anima("search", ANIMA, query, "--scope", "all").stdout
    return [line.split()[1] for line in out.splitlines() if line.strip()]


def _eventually(probe: Callable[[], T], done: Callable[[T], bool], what: str, timeout_s: float = 90) -> T:
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: still {value!r}")
        time.sleep(0.5)


def _exists(system: RunningSystem, path: str) -> bool:
    return (system.home / "animas" / ANIMA / path).is_file()


def test_forgetting_archives_only_the_unused_unprotected_chunk_and_restore_brings_it_back(
    system: RunningSystem,
) -> None:
    query = "printer floor 3 jams A3 paper tray bypass"
    assert PRINTER in _eventually(lambda: _search(system, query), lambda h: PRINTER in h, "indexed")

    # The fake clock: the day 100 days after the anima's creation as the system recorded it.
    (created,) = _events(system, "anima.created")
    day = (datetime.fromisoformat(created["ts"]).date() + timedelta(days=100)).isoformat()
    out = system.anima("consolidate", ANIMA, "--date", day).stdout
    print(out)
    assert "skipped 1, forgotten 1" in out  # nothing happened that day; one memory was forgotten

    (tombstone,) = _events(system, "forgetting.forgotten")
    print(json.dumps(tombstone, indent=2))
    assert tombstone["path"] == PRINTER and tombstone["archived_to"] == "archive/" + PRINTER
    assert tombstone["producer"] == "consolidator"
    assert tombstone["reason"].startswith("low activity for ") and "(fewer than 3)" in tombstone["reason"]
    assert date.fromisoformat(tombstone["low_since"]) <= date.fromisoformat(day) - timedelta(days=90)
    (downscaled,) = _events(system, "forgetting.downscaled")
    assert [m["path"] for m in downscaled["marks"]] == [PRINTER]

    assert not _exists(system, PRINTER) and _exists(system, "archive/" + PRINTER)
    assert all(_exists(system, path) for path in KEPT)
    _eventually(lambda: _search(system, query), lambda h: PRINTER not in h, "gone from search")
    assert "knowledge/router.md" in _search(system, "reboot the core router business hours")

    # A rebuild from the stream alone keeps it forgotten; so does an index rebuilt from the files.
    print(system.anima("replay", "rebuild", "--anima", ANIMA).stdout)
    assert not _exists(system, PRINTER) and _exists(system, "archive/" + PRINTER)
    assert all(_exists(system, path) for path in KEPT)
    system.anima("reindex", "--anima", ANIMA)
    assert PRINTER not in _search(system, query)

    restored = system.anima("restore", ANIMA, PRINTER).stdout
    assert f"restored {PRINTER} for {ANIMA}" in restored
    assert _exists(system, PRINTER) and not _exists(system, "archive/" + PRINTER)
    assert PRINTER in _search(system, query)

    # Restoring what is not forgotten is refused with the reason.
    again = system.anima("restore", ANIMA, PRINTER, check=False)
    assert again.returncode != 0 and "is not in the archive" in again.stdout + again.stderr
