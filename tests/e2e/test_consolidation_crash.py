"""The consolidator SIGKILLed in the middle of a run applies each decision once (issue #13, acceptance 5).

A fault point kills the consolidator right after the run's first decision is stored and applied
for the first time. The supervisor restarts it, the due event is redelivered, and the rerun
finds the plan it recorded before dying: it asks for the same operations under the same derived
ids, so memory-writer applies every decision exactly once and the run finishes once.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from tests.conftest import RunningSystem, start_system

from animas_contracts import MemoryOpApplied
from animas_core.anima_files import AnimaSpec, template_files
from animas_tools.animas_cli import creation_event
from animas_tools.publish import publish_change

pytestmark = [pytest.mark.e2e, pytest.mark.nats, pytest.mark.slow]

DAY = "2026-11-21"
LESSONS = (
    "Always attach the invoice PDF to a reminder",
    "The build server restarts at 03:00 on Mondays",
    "Never send prices to a client before the manager approves them",
)


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    env = {"ANIMAWORKS_ACK_WAIT_S": "3", "ANIMAWORKS_FAULTS": "consolidation-after-first-decision"}
    running = start_system(tmp_path_factory.mktemp("consolidation-crash") / "home", env)
    try:
        yield running
    finally:
        running.stop()


def _events(system: RunningSystem, event_type: str) -> list[dict[str, Any]]:
    out = system.anima("events", "--anima", "ledger", "--type", event_type, "--json").stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_killed_in_the_middle_of_a_run_each_decision_is_applied_once(system: RunningSystem) -> None:
    files = template_files(AnimaSpec(name="ledger", role="general"), "general")
    entries = "".join(
        f"\n## 1{n}:00 Task {n}\n- Trigger: Heartbeat\n- Decision: did it\n- Result: done\n"
        f"- Lesson: {lesson}\n"
        for n, lesson in enumerate(LESSONS)
    )
    files[f"episodes/{DAY}.md"] = f"# {DAY} Action Log\n{entries}"
    created = system.admin(lambda nc: publish_change(nc, creation_event("ledger", files, "template:general")))
    assert isinstance(created, MemoryOpApplied)
    first_pid = system.pid("consolidator")

    out = system.anima("consolidate", "ledger", "--date", DAY, "--timeout", "180").stdout
    print(out)

    assert system.pid("consolidator") != first_pid, "the fault point killed the consolidator mid-run"
    assert "created 3, merged 0" in out
    (planned,) = _events(system, "consolidation.planned")
    run_id = planned["run_id"]
    decision_ids = {r["id"] for r in _events(system, "memory.op.requested") if r["causation_id"] == run_id}
    assert len(decision_ids) == len(planned["decisions"]) == 3
    applied = Counter(a["op_id"] for a in _events(system, "memory.op.applied") if a["op_id"] in decision_ids)
    print("memory.op.applied per decision id:", dict(applied))
    assert applied == dict.fromkeys(decision_ids, 1)
    assert len(_events(system, "consolidation.started")) == 1
    assert len(_events(system, "consolidation.finished")) == 1
    knowledge = system.home / "animas" / "ledger" / "knowledge"
    texts = [p.read_text() for p in knowledge.glob("*.md")]
    for lesson in LESSONS:
        assert sum(f"\n{lesson}\n" in text for text in texts) == 1, lesson
