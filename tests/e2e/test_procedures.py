"""Procedures that learn, through the running system (issue #13 item 4, acceptance 4).

Two tasks are resolved; the daily consolidation of that day turns each into a procedure
(version 1). Cycles, driven by the scripted LLM, follow them and report outcomes with the
``report_procedure_outcome`` tool: the rollback procedure fails twice, the key rotation succeeds
three times. The next daily consolidation asks the anima's model to revise the failing one (its
JSON answer validated; the call recorded): its version goes up and version 1 is in the archive.
The successful one is proposed as a skill, a file a person adopts by copying it to ``skills/``.
Every cycle's prompt lists what the organization resolved in the last 7 days.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from typing import Any

import pytest
from tests.conftest import RunningSystem, scripted_config, start_system

from animas_contracts import (
    CreateTask,
    MemoryOp,
    MemoryOpApplied,
    MemoryOpRequested,
    TaskState,
    TransitionTask,
    uuid7,
)
from animas_core.anima_files import AnimaSpec, template_files
from animas_core.memory_client import MemoryClient
from animas_tools.animas_cli import creation_event
from animas_tools.publish import publish_change
from animas_tools.scripted_llm import ScriptedLLM, Turn

pytestmark = [pytest.mark.e2e, pytest.mark.nats, pytest.mark.slow]

ANIMA = "ops"
ROLLBACK = "procedures/roll-back-the-failed-deploy.md"
ROTATION = "procedures/rotate-the-api-keys.md"
REVISED = "# Roll back the failed deploy\n\n1. Wait for the migration lock.\n2. git revert, then redeploy.\n"
FAILURES = ("the migration lock was held", "the revert conflicted with a hotfix")


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM() as server:
        yield server


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory, llm: ScriptedLLM) -> Iterator[RunningSystem]:
    running = start_system(tmp_path_factory.mktemp("procedures") / "home")
    try:
        config = scripted_config(llm, animas=())
        config["animas"] = {ANIMA: dict(config.pop("anima_defaults")) | {"timezone": "UTC"}}
        running.configure(config)
        files = template_files(AnimaSpec(name=ANIMA, role="general"), "general")
        created = running.admin(
            lambda nc: publish_change(nc, creation_event(ANIMA, files, "template:general"), timeout_s=60)
        )
        assert isinstance(created, MemoryOpApplied), created
        yield running
    finally:
        running.stop()


def _consolidation_answers(body: Mapping[str, Any]) -> Turn | None:
    """The consolidator's calls (no tools offered): a revision when asked for one, else no decisions."""
    if body.get("tools"):
        return None  # a cycle: the loaded script answers it
    if "You revise a procedure" in str(body.get("messages", [{}])[0].get("content")):
        assert all(note in json.dumps(body) for note in FAILURES), "the failure notes reach the model"
        return Turn(text=json.dumps({"content": REVISED}))
    return Turn(text=json.dumps({"decisions": []}))


def _apply(system: RunningSystem, op: MemoryOp) -> None:
    event_id = uuid7()
    request = MemoryOpRequested(id=event_id, anima=ANIMA, correlation_id=event_id, producer="test", op=op)
    answer = system.admin(lambda nc: publish_change(nc, request))
    assert isinstance(answer, MemoryOpApplied), answer


def _resolve(system: RunningSystem, task_id: str, title: str, detail: str) -> date:
    """A task created and done, as a cycle resolves one; the day it was resolved (UTC)."""
    _apply(system, CreateTask(task_id=task_id, title=title, detail=detail))
    _apply(system, TransitionTask(task_id=task_id, to=TaskState.DONE, note="resolved"))
    tasks = system.admin(lambda nc: MemoryClient(nc).tasks(ANIMA))
    (task,) = [t for t in tasks if t.task_id == task_id]
    return datetime.fromisoformat(task.updated_at).astimezone(UTC).date()


def _report(system: RunningSystem, llm: ScriptedLLM, path: str, success: bool, note: str = "") -> None:
    """One cycle that follows a procedure and reports how it went."""
    arguments = {"path": path, "success": success, "note": note}
    llm.load(
        [
            {"tool_calls": [{"name": "report_procedure_outcome", "arguments": arguments}]},
            {"text": "Reported."},
        ]
    )
    response = system.chat(ANIMA, f"Follow {path} and tell me how it went.", sender="yamada")
    assert response.status_code == 200, response.text


def _events(system: RunningSystem, event_type: str) -> list[dict[str, Any]]:
    out = system.anima("events", "--anima", ANIMA, "--type", event_type, "--json").stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def _applied_outcomes(system: RunningSystem) -> int:
    return sum(1 for e in _events(system, "memory.op.applied") if e.get("kind") == "procedure.outcome")


def test_a_failing_procedure_is_revised_and_a_reliable_one_is_proposed_as_a_skill(
    system: RunningSystem, llm: ScriptedLLM
) -> None:
    llm.respond_with(_consolidation_answers)
    root = system.home / "animas" / ANIMA
    day = _resolve(
        system, "t-rollback", "Roll back the failed deploy", "Reverted the release and redeployed."
    )
    _resolve(system, "t-keys", "Rotate the API keys", "Issued new keys in the vault, restarted the gateway.")

    out = system.anima("consolidate", ANIMA, "--date", day.isoformat()).stdout
    print(out)
    assert "procedures: distilled 2, revised 0, proposed as skills 0" in out
    for path in (ROLLBACK, ROTATION):
        text = (root / path).read_text()
        assert "version: 1" in text and "confidence: 0.40" in text, text
    assert "Reverted the release and redeployed." in (root / ROLLBACK).read_text()

    for note in FAILURES:
        _report(system, llm, ROLLBACK, False, note)
    for _ in range(3):
        _report(system, llm, ROTATION, True)
    assert _applied_outcomes(system) == 5
    # Every cycle's prompt carries the organization's resolution log.
    cycle = [r["body"] for r in llm.requests if r["body"].get("tools")][-1]
    prompt = str(cycle["messages"][0]["content"])
    assert "## Resolved in the organization (last 7 days; ask who solved it)" in prompt
    assert f"- {day.isoformat()} ops: Roll back the failed deploy" in prompt

    out = system.anima("consolidate", ANIMA, "--date", day.isoformat()).stdout
    print(out)
    assert "procedures: distilled 0, revised 1, proposed as skills 1" in out
    revised = (root / ROLLBACK).read_text()
    assert "version: 2" in revised and "Wait for the migration lock." in revised, revised
    archived = (root / "archive/procedure_versions/roll-back-the-failed-deploy/v1.md").read_text()
    assert "version: 1" in archived and "Reverted the release and redeployed." in archived
    proposal = (root / "state/skill_proposals/rotate-the-api-keys.md").read_text()
    assert "3 successes, 0 failures, confidence 0.80" in proposal
    assert "copy the procedure below to `skills/rotate-the-api-keys.md`" in proposal
    assert not (root / "skills/rotate-the-api-keys.md").exists(), "a person adopts it, not consolidation"

    (plan, *_) = [
        e
        for e in reversed(_events(system, "consolidation.planned"))
        if any(d["action"] == "revise" for d in e["decisions"])
    ]
    assert {d["action"] for d in plan["decisions"]} >= {"revise", "propose_skill"}
    calls = [e for e in _events(system, "llm.called") if e["producer"] == "consolidator"]
    assert calls and all(e["error"] is None for e in calls), calls  # the revision's call recorded

    # Run again: nothing more to revise (no new failures) and the proposal is not made twice.
    out = system.anima("consolidate", ANIMA, "--date", day.isoformat()).stdout
    print(out)
    assert "version: 2" in (root / ROLLBACK).read_text()
    assert f"{ROTATION}: proposed as a skill already" in out or "proposed as a skill already" in json.dumps(
        _events(system, "consolidation.finished")[-1]
    )
