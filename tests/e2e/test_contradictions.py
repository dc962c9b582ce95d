"""Knowledge the day contradicts is superseded (issue #13, item 2: contradiction candidates by subject).

Both animas know "Tanaka-san prefers email." and, on the consolidated day, a person told them it
is no longer so. The anima with a model gets the file as a contradiction candidate in its prompt
and its supersede decision rewrites the file; the anima without one supersedes it too, because
the correction is explicit (a person's, naming the old fact). Tasks resolved on a day are
sources of that day too: a decision cites them as ``tasks/<id>``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest
from tests.conftest import RunningSystem, scripted_config, start_system

from animas_contracts import (
    Conversation,
    ConversationTurn,
    CreateTask,
    MemoryOp,
    MemoryOpApplied,
    MemoryOpRequested,
    TaskState,
    TransitionTask,
    TurnRole,
    uuid7,
)
from animas_core.anima_files import AnimaSpec, template_files
from animas_core.memory_client import MemoryClient
from animas_tools.animas_cli import creation_event
from animas_tools.publish import publish_change
from animas_tools.scripted_llm import ScriptedLLM, Turn

pytestmark = [pytest.mark.e2e, pytest.mark.nats, pytest.mark.slow]

DAY = "2026-11-20"
KNOWN = "Tanaka-san prefers email."
CORRECTION = "Tanaka-san no longer prefers email; Tanaka-san prefers phone calls now."
REWRITTEN = "Tanaka-san prefers phone calls (since 2026-11-20); do not email."
FILE = "knowledge/tanaka-contact.md"
TURN = "msg-correction"
REF = f"state/conversations/yamada.json#{TURN}"


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM() as server:
        yield server


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory, llm: ScriptedLLM) -> Iterator[RunningSystem]:
    running = start_system(tmp_path_factory.mktemp("contradictions") / "home")
    try:
        config = scripted_config(llm, animas=())
        config["animas"] = {"keeper": dict(config.pop("anima_defaults")), "plain": {}}
        running.configure(config)
        for name in ("keeper", "plain"):
            _create(running, name)
        yield running
    finally:
        running.stop()


def _conversation() -> str:
    said = datetime.fromisoformat(f"{DAY}T10:00:00+00:00")
    turns = (
        ConversationTurn(id=TURN, role=TurnRole.USER, text=CORRECTION, ts=said),
        ConversationTurn(id="msg-ack", role=TurnRole.ASSISTANT, text="Noted, thank you.", ts=said),
    )
    return msgspec.json.encode(Conversation(peer="yamada", turns=turns)).decode()


def _create(system: RunningSystem, name: str) -> None:
    files = template_files(AnimaSpec(name=name, role="general"), "general")
    files[FILE] = f"# Tanaka-san contact\n\n{KNOWN}\n"
    files["state/conversations/yamada.json"] = _conversation()
    answer = system.admin(
        lambda nc: publish_change(nc, creation_event(name, files, "template:general"), timeout_s=60)
    )
    assert isinstance(answer, MemoryOpApplied), answer


def _events(system: RunningSystem, anima: str, event_type: str) -> list[dict[str, Any]]:
    out = system.anima("events", "--anima", anima, "--type", event_type, "--json").stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def _knowledge_file(system: RunningSystem, anima: str) -> str:
    return (system.home / "animas" / anima / FILE).read_text(encoding="utf-8")


def test_the_model_gets_the_contradiction_candidate_and_its_supersede_is_applied(
    system: RunningSystem, llm: ScriptedLLM, tmp_path: Path
) -> None:
    prompts: list[str] = []

    def answer(body: Mapping[str, Any]) -> Turn | None:
        if "You consolidate the memory of keeper" not in json.dumps(body.get("messages", [])):
            return None
        prompts.append(body["messages"][-1]["content"])
        decision = {
            "action": "supersede",
            "path": FILE,
            "content": f"# Tanaka-san contact\n\n{REWRITTEN}",
            "reason": "yamada corrected it",
            "citations": [{"ref": REF, "quote": CORRECTION}],
        }
        return Turn(text=json.dumps({"decisions": [decision]}))

    llm.respond_with(answer)
    out = system.anima("consolidate", "keeper", "--date", DAY).stdout
    print(out)

    (user,) = prompts
    print("---- the consolidation prompt ----\n" + user)
    candidates = user.split("## Contradiction candidates", 1)[1].split("\n## ", 1)[0]
    assert f'{FILE} says "{KNOWN}"; [{REF}] says "{CORRECTION}"' in candidates
    assert f"### {FILE}\n# Tanaka-san contact\n\n{KNOWN}" in user
    assert "decided by the model openai/scripted" in out and "superseded 1" in out
    rewritten = _knowledge_file(system, "keeper")
    assert REWRITTEN in rewritten and KNOWN not in rewritten
    assert re.search(rf'- {DAY} {re.escape(REF)}: "{re.escape(CORRECTION)}"', rewritten)
    (finished,) = _events(system, "keeper", "consolidation.finished")
    assert finished["method"] == "model" and finished["superseded"] == 1

    # The recorded inputs hold what the candidates came from: a replay builds the same prompt and plan.
    report = system.anima("replay", "consolidate", "keeper", "--from", DAY, "--shadow", str(tmp_path)).stdout
    print(report)
    assert "prompt: identical to the recording" in report
    assert "decisions: identical to the recording (1)" in report
    assert (tmp_path / FILE).read_bytes() == (system.home / "animas" / "keeper" / FILE).read_bytes()


def test_without_a_model_the_explicit_correction_still_supersedes(system: RunningSystem) -> None:
    out = system.anima("consolidate", "plain", "--date", DAY).stdout
    print(out)

    assert "decided fallback (no model configured)" in out and "superseded 1" in out
    # The correction is used; only the anima's acknowledgement is left as a plain line.
    assert "skipped: 1 source line(s) state no explicit lesson" in out
    rewritten = _knowledge_file(system, "plain")
    assert KNOWN not in rewritten.split("## Sources", 1)[0]
    assert CORRECTION in rewritten and f"{DAY} {REF}" in rewritten
    (finished,) = _events(system, "plain", "consolidation.finished")
    assert finished["method"] == "fallback" and finished["created"] == 0
    assert not _events(system, "plain", "llm.called")


def _apply(system: RunningSystem, anima: str, op: MemoryOp) -> None:
    event_id = uuid7()
    request = MemoryOpRequested(id=event_id, anima=anima, correlation_id=event_id, producer="test", op=op)
    answer = system.admin(lambda nc: publish_change(nc, request))
    assert isinstance(answer, MemoryOpApplied), answer


def test_a_task_resolved_that_day_is_a_source_a_decision_cites(system: RunningSystem) -> None:
    lesson = "book the meeting room a week ahead"
    _apply(system, "plain", CreateTask(task_id="room", title="Book the room", detail=f"Lesson: {lesson}"))
    _apply(system, "plain", TransitionTask(task_id="room", to=TaskState.DONE, note="booked"))
    _apply(system, "plain", CreateTask(task_id="open", title="Still open", detail="Lesson: not yet"))
    tasks = system.admin(lambda nc: MemoryClient(nc).tasks("plain"))
    (room,) = [t for t in tasks if t.task_id == "room"]
    # The day the task was resolved, read from the store (the system's zone is UTC): no wall clock here.
    day = datetime.fromisoformat(room.updated_at).astimezone(UTC).date().isoformat()

    out = system.anima("consolidate", "plain", "--date", day).stdout
    print(out)
    assert "created 1," in out
    learned = [
        p for p in (system.home / "animas" / "plain" / "knowledge").glob("*.md") if lesson in p.read_text()
    ]
    (path,) = learned
    text = path.read_text(encoding="utf-8")
    assert f'- {day} tasks/room: "{lesson}"' in text and "not yet" not in text
