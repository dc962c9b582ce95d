"""Delegation and reports through `anima up` and a scripted model (issue #14 item 2, acceptance 1 and 2).

The organization: mgr, with alice and bob reporting to it, and carol reporting to bob. The
scripted model answers by rule (which anima, what woke it, what its tools returned):

- a person asks mgr for a report needing both areas; mgr delegates area A to alice and area B
  to bob, waiting for each report; alice reports with ``report_task``, bob only answers (the
  task lane reports for him); mgr's final answer integrates both, its last model request holds
  both reports, the whole tree is one trace, and ``anima tasks mgr`` shows it;
- delegating to a grandchild (mgr to carol) or a peer (alice to bob) is refused with the
  reason, and outbound refuses a task message that skips a level even when the tool is
  bypassed;
- a delegation whose deadline has passed shows in mgr's next heartbeat prompt;
- bob's ``blocked`` report wakes mgr, and mgr's task is blocked.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tests.conftest import RunningSystem, scripted_config, start_system, wait_until
from tests.model_requests import anima_of, since_last_user

from animas_contracts import (
    HeartbeatDue,
    MessageKind,
    OutboundKind,
    OutboundRequested,
    ScheduledBy,
    TaskLink,
    uuid7,
)
from animas_tools.otlp_collector import CollectedSpan, OtlpCollector
from animas_tools.scripted_llm import ScriptedLLM
from animas_tools.scripted_llm.script import ScriptedToolCall, Turn

pytestmark = [pytest.mark.e2e, pytest.mark.nats, pytest.mark.slow]

SUPERVISORS = {"mgr": None, "alice": "mgr", "bob": "mgr", "carol": "bob"}
ANIMAS = tuple(SUPERVISORS)
_TASK_ID = re.compile(r"Task `(t-[0-9a-f]+)` from")
PAST_DEADLINE = (datetime.now(UTC) - timedelta(hours=2)).isoformat(timespec="minutes")
CHAT_SPAN = "POST /api/animas/{name}/chat"
HEARTBEAT = (
    "# Heartbeat: {name}\n\n## Execution Interval\nEvery 30 minutes\n\n"
    "## Checklist\n- Is delegated work on time?\n"
)


def _delegate(to: str, instruction: str, **extra: Any) -> ScriptedToolCall:
    return ScriptedToolCall(name="delegate_task", arguments={"to": to, "instruction": instruction, **extra})


def _report(woke: str, outcome: str, summary: str) -> ScriptedToolCall:
    found = _TASK_ID.search(woke)
    task_id = found.group(1) if found else "unknown"
    return ScriptedToolCall(
        name="report_task", arguments={"task_id": task_id, "outcome": outcome, "summary": summary}
    )


def _reported(results: list[str], who: str) -> str:
    """The report text a waiting delegate_task returned for ``who``."""
    for result in results:
        if f"Report from {who}" in result:
            return result.split(":\n", 1)[-1].strip()
    return "(no report)"


def _respond(body: Mapping[str, Any]) -> Turn:
    """Every anima's model, by rule; a task cycle is told apart by its task's words."""
    woke, results = since_last_user(body)
    # The task cycles (their prompt is the task's own, without the anima's environment).
    if "Area A status report" in woke:
        return (
            Turn(text="Reported.")
            if results
            else Turn(tool_calls=[_report(woke, "done", "Area A is green.")])
        )
    if "Area B status report" in woke:
        return Turn(text="Area B is amber.")  # no report_task: the task lane reports for bob
    if "Migrate the database" in woke:
        if results:
            return Turn(text="Reported that I am blocked.")
        return Turn(tool_calls=[_report(woke, "blocked", "Blocked: no database credentials.")])
    if "Count the inventory" in woke:
        return Turn(text="Inventory counted: 42 boxes.", hold=True)
    name = anima_of(body)
    if name == "mgr":
        if "Report on areas A and B" in woke:
            if not results:
                return Turn(
                    tool_calls=[
                        _delegate("alice", "Area A status report", wait=True, wait_timeout_s=120),
                        _delegate("bob", "Area B status report", wait=True, wait_timeout_s=120),
                    ]
                )
            a, b = _reported(results, "alice"), _reported(results, "bob")
            return Turn(text=f"Integrated report. A: {a} B: {b}")
        if "Audit the books with carol" in woke:
            return (
                Turn(text=results[-1])
                if results
                else Turn(tool_calls=[_delegate("carol", "Audit the books")])
            )
        if "Hand the migration to bob" in woke:
            return (
                Turn(text="Delegated.")
                if results
                else Turn(tool_calls=[_delegate("bob", "Migrate the database")])
            )
        if "Hand the inventory to alice" in woke:
            if results:
                return Turn(text="Delegated.")
            return Turn(tool_calls=[_delegate("alice", "Count the inventory", deadline=PAST_DEADLINE)])
        if "no database credentials" in woke:
            return Turn(text="Noted: bob is blocked on credentials.")
        return Turn(text="OK.")
    if name == "alice" and "Give bob the review" in woke:
        return (
            Turn(text=results[-1]) if results else Turn(tool_calls=[_delegate("bob", "Review the contract")])
        )
    return Turn(text="OK.")


@pytest.fixture(scope="module")
def collector() -> Iterator[OtlpCollector]:
    with OtlpCollector() as running:
        yield running


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM() as server:
        server.respond_with(_respond)
        yield server


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory, collector: OtlpCollector, llm: ScriptedLLM
) -> Iterator[RunningSystem]:
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": collector.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "100"}
    running = start_system(tmp_path_factory.mktemp("delegation") / "home", env)
    try:
        running.configure(scripted_config(llm, animas=ANIMAS))
        running.anima("create", "mgr", "--template", "manager")
        for name, boss in SUPERVISORS.items():
            if boss is not None:
                running.anima("create", name, "--template", "general", "--supervisor", boss)
        wait_until(lambda: all((running.home / "animas" / n / "identity.md").exists() for n in ANIMAS))
        for name in ANIMAS:  # no active hours: a report is read whenever it comes
            (running.home / "animas" / name / "heartbeat.md").write_text(HEARTBEAT.format(name=name))
        yield running
    finally:
        llm.release()
        running.stop()


def _requests_of(llm: ScriptedLLM, text: str) -> list[dict[str, Any]]:
    return [r["body"] for r in llm.requests if text in json.dumps(r["body"])]


def _tasks(system: RunningSystem, name: str) -> str:
    return system.anima("tasks", name).stdout


def _trace(spans: list[CollectedSpan], sent_ns: int) -> list[CollectedSpan]:
    root = next(
        (
            s
            for s in spans
            if s.service == "animaworks-gateway" and s.name == CHAT_SPAN and s.start_ns >= sent_ns
        ),
        None,
    )
    return [s for s in spans if root is not None and s.trace_id == root.trace_id]


def _reaches(trace: list[CollectedSpan], *fragments: str) -> bool:
    return all(any(f in s.name for s in trace) for f in fragments)


def test_a_report_needing_two_areas_is_delegated_reported_and_integrated(
    system: RunningSystem, llm: ScriptedLLM, collector: OtlpCollector
) -> None:
    sent_ns = time.time_ns()
    body = system.chat("mgr", "Report on areas A and B, please.", 120.0).json()
    assert body["reply"] == "Integrated report. A: Area A is green. B: Area B is amber.", body

    # The model's last request of that cycle holds both reports (the tool results it integrated).
    last = _requests_of(llm, "Report on areas A and B")[-1]
    _, results = since_last_user(last)
    assert any("Report from alice (done):\nArea A is green." in r for r in results), results
    assert any("Report from bob (done):\nArea B is amber." in r for r in results), results

    # Each subordinate holds its own copy, linked to mgr's, and both are done.
    wait_until(lambda: _tasks(system, "mgr").count("[done]") >= 4)
    tree = _tasks(system, "mgr")
    assert re.search(r"- mgr t-\w+ \[done\] Area A status report -> alice: Area A is green\.", tree), tree
    assert re.search(
        r"\n    - alice t-\w+ \[done\] Area A status report \(from mgr\): Area A is green\.", tree
    ), tree
    assert re.search(r"- mgr t-\w+ \[done\] Area B status report -> bob: Area B is amber\.", tree), tree
    assert re.search(
        r"\n    - bob t-\w+ \[done\] Area B status report \(from mgr\): Area B is amber\.", tree
    ), tree

    # Delegation and report records, in the person's conversation.
    delegated = system.events("mgr", "task.delegated")
    assert sorted(e["assignee"] for e in delegated) == ["alice", "bob"]
    assert all(e["correlation_id"] == body["correlation_id"] for e in delegated)
    reported = [e for name in ("alice", "bob") for e in system.events(name, "task.reported")]
    assert sorted((e["anima"], e["outcome"]) for e in reported) == [("alice", "done"), ("bob", "done")]
    assert all(e["correlation_id"] == body["correlation_id"] for e in reported)
    # The waiting tool read both reports: they moved mgr's tasks but woke no second cycle.
    taken = system.events("mgr", "task.report.taken")
    assert len(taken) == 2
    assert not any(
        "Area A is green" in since_last_user(r)[0] and anima_of(r) == "mgr"
        for r in _requests_of(llm, "Area A is green")
    )

    # One trace: the chat, mgr's cycle, outbound's deliveries, both task cycles and the reports.
    fragments = ("alice.task.assigned", "bob.task.assigned", "mgr.message.received", "outbound.requested")
    assert collector.wait_for(lambda spans: _reaches(_trace(spans, sent_ns), *fragments), 60), sorted(
        {(s.service, s.name) for s in _trace(collector.spans, sent_ns)}
    )
    trace = _trace(collector.spans, sent_ns)
    services = {s.service for s in trace}
    assert {"animaworks-gateway", "animaworks-agent-runner", "animaworks-outbound"} <= services, services
    assert sum(1 for s in trace if s.name == "chat openai/scripted") >= 4  # mgr twice, alice, bob


def test_delegating_past_a_direct_subordinate_is_refused_with_the_reason(system: RunningSystem) -> None:
    grandchild = system.chat("mgr", "Audit the books with carol.", 90.0).json()["reply"]
    assert "carol is not your direct subordinate (carol reports to bob)" in grandchild, grandchild
    peer = system.chat("alice", "Give bob the review.", 90.0).json()["reply"]
    assert "bob is not your direct subordinate (bob reports to mgr)" in peer, peer
    assert "Audit the books" not in _tasks(system, "mgr") and "Review the contract" not in _tasks(
        system, "alice"
    )

    # outbound is the authority: a task message that skips a level is refused there too.
    link = TaskLink(supervisor="mgr", supervisor_task_id="t-direct", task_id="t-direct-c", assignee="carol")
    request = OutboundRequested(
        id=uuid7(),
        anima="mgr",
        correlation_id=uuid7(),
        producer="cli",
        kind=OutboundKind.MESSAGE,
        to="carol",
        text="Audit the books",
        thread_id="task:t-direct",
        intent=MessageKind.TASK,
        hops=1,
        task=link,
    )
    system.publish(request)

    def refused() -> list[dict[str, Any]]:
        return [e for e in system.events("mgr", "messaging.refused") if e["request_id"] == request.id]

    wait_until(lambda: bool(refused()))
    (refusal,) = refused()
    assert refusal["rule"] == "delegation"
    assert refusal["reason"].startswith("carol is not your direct subordinate (carol reports to bob)")
    assert not any(e.get("kind") == "task" for e in system.events("carol", "message.received"))


def test_a_blocked_report_wakes_the_manager(system: RunningSystem, llm: ScriptedLLM) -> None:
    assert system.chat("mgr", "Hand the migration to bob.", 90.0).json()["reply"] == "Delegated."
    wait_until(
        lambda: any(
            anima_of(r) == "mgr" and "no database credentials" in since_last_user(r)[0]
            for r in _requests_of(llm, "no database credentials")
        )
    )
    report = next(
        e
        for e in system.events("mgr", "message.received")
        if e.get("kind") == "report" and e["sender"] == "bob" and "credentials" in e["text"]
    )
    assert report["task"]["outcome"] == "blocked"
    wait_until(lambda: "[blocked] Migrate the database -> bob" in _tasks(system, "mgr"))
    assert "[blocked] Migrate the database (from mgr): Blocked: no database credentials." in _tasks(
        system, "mgr"
    )


def test_an_overdue_delegation_is_in_the_next_heartbeat_prompt(
    system: RunningSystem, llm: ScriptedLLM
) -> None:
    assert system.chat("mgr", "Hand the inventory to alice.", 90.0).json()["reply"] == "Delegated."
    # alice is still at it (her model holds the answer): the task is delegated and overdue.
    wait_until(
        lambda: bool(
            _requests_of(llm, "Count the inventory")
            and "[in_progress] Count the inventory" in _tasks(system, "mgr")
        )
    )
    heartbeat_id = uuid7()
    system.publish(
        HeartbeatDue(
            id=heartbeat_id,
            anima="mgr",
            correlation_id=heartbeat_id,
            producer="cli",
            fire_at=datetime.now(UTC),
            scheduled_by=ScheduledBy.MANUAL,
        ),
    )
    overdue = f"delegated to alice was due {PAST_DEADLINE} and is not reported yet"

    def heartbeat_prompts() -> list[dict[str, Any]]:
        return [r for r in _requests_of(llm, overdue) if "Heartbeat." in since_last_user(r)[0]]

    wait_until(lambda: bool(heartbeat_prompts()))
    assert 'Task "Count the inventory"' in since_last_user(heartbeat_prompts()[0])[0]
    # Once alice finishes, her answer is the report (she did not call report_task) and the task is done.
    llm.release()
    wait_until(
        lambda: (
            f"[done] Count the inventory -> alice (due {PAST_DEADLINE}): Inventory counted: 42 boxes."
            in _tasks(system, "mgr")
        )
    )
