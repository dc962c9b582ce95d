"""Answers reach the anima that asked, and two animas cannot talk forever (issue #14 items 1, 4).

Through `anima up` and a scripted model that answers by rule (which anima is asked, and what):

- a person asks mgr; mgr asks alice and bob with send_message; each answers with its final
  answer, and both answers reach mgr once, as ``reply`` messages in the person's thread, and
  wake mgr's model;
- alice writes to mgr outside mgr's active hours; mgr answers at its next heartbeat, and the
  answer reaches alice the same way;
- ping and pong, scripted to write to each other whenever they can, stop at the pair limit
  with a ``messaging.refused`` event;
- with the loop limits raised, tic and tac stop at the bilateral limit: the 7th message between
  them within 10 minutes is refused, and the acknowledgement tic sends after it still passes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tests.conftest import RunningSystem, scripted_config, start_system, wait_until
from tests.model_requests import anima_of, since_last_user

from animas_contracts import HeartbeatDue, ScheduledBy, uuid7
from animas_tools.scripted_llm import ScriptedLLM
from animas_tools.scripted_llm.script import ScriptedToolCall, Turn

pytestmark = [pytest.mark.e2e, pytest.mark.nats, pytest.mark.slow]

ORG = ("mgr", "alice", "bob")
PARTNERS = {"ping": "pong", "pong": "ping", "tic": "tac", "tac": "tic"}
ANIMAS = (*ORG, *PARTNERS)


def _send(to: str, text: str, *, ack: bool = False) -> ScriptedToolCall:
    arguments: dict[str, Any] = {"to": to, "text": text}
    if ack:
        arguments["ack"] = True
    return ScriptedToolCall(name="send_message", arguments=arguments)


def _respond(body: Mapping[str, Any]) -> Turn:
    """What each anima's model does, by rule (the answer depends on the request, not its turn)."""
    name = anima_of(body)
    woke, results = since_last_user(body)
    if name in PARTNERS:
        other = PARTNERS[name]
        if not results:
            return Turn(tool_calls=[_send(other, f"{name} writes to {other} again.")])
        if "not delivered" in results[-1] and len(results) == 1:
            return Turn(tool_calls=[_send(other, "Understood, stopping here.", ack=True)])
        return Turn(text=f"{name} answers {other}.")
    if name == "mgr":
        if "Area A is green" in woke:
            return Turn(text="Noted: area A is green.")
        if "Area B is amber" in woke:
            return Turn(text="Noted: area B is amber.")
        if "What is the budget" in woke:
            return Turn(text="The budget is 10k.")
        if "Ask alice and bob" in woke and not results:
            return Turn(
                tool_calls=[
                    _send("alice", "What is the status of area A?"),
                    _send("bob", "What is the status of area B?"),
                ]
            )
        return Turn(text="I asked alice and bob.")
    if name == "alice":
        if "status of area A" in woke:
            return Turn(text="Area A is green.")
        if "Ask mgr about the budget" in woke and not results:
            return Turn(tool_calls=[_send("mgr", "What is the budget?")])
        return Turn(text="Thanks, noted.")
    if name == "bob" and "status of area B" in woke:
        return Turn(text="Area B is amber.")
    return Turn(text="OK.")


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM() as server:
        server.respond_with(_respond)
        yield server


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory, llm: ScriptedLLM) -> Iterator[RunningSystem]:
    running = start_system(tmp_path_factory.mktemp("limits") / "home")
    try:
        running.configure(_config(llm))
        running.anima("create", "mgr", "--template", "manager")
        for name in ANIMAS[1:]:
            supervisor = ["--supervisor", "mgr"] if name in ORG else []
            running.anima("create", name, "--template", "general", *supervisor)
        wait_until(lambda: all((running.home / "animas" / n / "identity.md").exists() for n in ANIMAS))
        for name in ANIMAS:  # the templates' hours may not include now: every message is answered at once
            _active_hours(running, name, now_inside=True)
        yield running
    finally:
        running.stop()


def _config(llm: ScriptedLLM, **messaging: Any) -> dict[str, Any]:
    config = scripted_config(llm, animas=ANIMAS)
    if messaging:
        config["messaging"] = messaging
    return config


def _active_hours(system: RunningSystem, anima: str, *, now_inside: bool) -> None:
    """Active hours (UTC) that include the current time, or that lie twelve hours away."""
    start = datetime.now(UTC) + (timedelta(hours=-1) if now_inside else timedelta(hours=11))
    end = start + timedelta(hours=2)
    (system.home / "animas" / anima / "heartbeat.md").write_text(
        f"# Heartbeat: {anima}\n\n## Execution Interval\nEvery 30 minutes\n\n## Active Hours\n"
        f"{start:%H}:00 - {end:%H}:00 (UTC)\n\n## Checklist\n- Are there unread messages in the inbox?\n"
        "- If nothing, do nothing (HEARTBEAT_OK)\n"
    )


def _woke_with(llm: ScriptedLLM, anima: str, text: str) -> bool:
    """Whether ``anima``'s model was asked with ``text`` in the message that woke it."""
    return any(anima_of(r["body"]) == anima and text in since_last_user(r["body"])[0] for r in llm.requests)


def _quiet(system: RunningSystem, animas: tuple[str, ...], settle_s: float = 4.0) -> None:
    """Wait until no cycle has started or finished for ``settle_s`` seconds."""

    def count() -> int:
        return sum(len(system.events(a, "cycle.finished")) for a in animas)

    last, since = count(), time.monotonic()
    deadline = since + 120
    while time.monotonic() - since < settle_s:
        assert time.monotonic() < deadline, "the animas never went quiet"
        time.sleep(0.5)
        now = count()
        if now != last:
            last, since = now, time.monotonic()


def test_both_answers_reach_the_manager_once_in_the_persons_thread(
    system: RunningSystem, llm: ScriptedLLM
) -> None:
    body = system.chat("mgr", "Ask alice and bob about their areas.", 90.0).json()
    assert body["reply"] == "I asked alice and bob.", body
    thread = body["thread_id"]

    def replies() -> list[dict[str, Any]]:
        return [e for e in system.events("mgr", "message.received") if e.get("kind") == "reply"]

    wait_until(lambda: len(replies()) >= 2)
    wait_until(
        lambda: _woke_with(llm, "mgr", "Area A is green") and _woke_with(llm, "mgr", "Area B is amber")
    )
    got = replies()
    assert sorted((e["sender"], e["text"]) for e in got) == [
        ("alice", "Area A is green."),
        ("bob", "Area B is amber."),
    ]
    assert all(e["thread_id"] == thread and e["origin"] == "anima" for e in got)
    assert all(e["correlation_id"] == body["correlation_id"] for e in got)  # one conversation
    for sender in ("alice", "bob"):
        answer = next(e for e in system.events(sender, "response.sent") if e["to"] == "mgr")
        assert answer["deliver"] is True
        delivered = [
            e for e in system.events(sender, "outbound.delivered") if e["request_id"] == answer["id"]
        ]
        assert len(delivered) == 1
        assert next(e for e in got if e["sender"] == sender)["reply_to"] == answer["in_reply_to"]
    assert _woke_with(llm, "mgr", "[alice] Area A is green.")
    assert _woke_with(llm, "mgr", "[bob] Area B is amber.")
    _quiet(system, ORG)  # nothing more arrives: exactly once
    assert len(replies()) == 2


def test_a_deferred_message_answered_at_a_heartbeat_reaches_the_anima_that_asked(
    system: RunningSystem, llm: ScriptedLLM
) -> None:
    _active_hours(system, "mgr", now_inside=False)
    body = system.chat("alice", "Ask mgr about the budget.", 90.0).json()
    assert body["reply"] == "Thanks, noted.", body
    question = next(e for e in system.events("mgr", "message.received") if e["text"] == "What is the budget?")
    assert question["sender"] == "alice" and question["kind"] == "message"

    def deferred() -> bool:
        return any(
            e["op"].get("kind") == "task.create" and e["op"].get("task_id") == question["id"]
            for e in system.events("mgr", "memory.op.requested")
        )

    wait_until(deferred)  # outside mgr's hours: the question waits in its inbox, the model not asked
    assert not _woke_with(llm, "mgr", "What is the budget?")

    _active_hours(system, "mgr", now_inside=True)
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

    def answers() -> list[dict[str, Any]]:
        return [
            e
            for e in system.events("alice", "message.received")
            if e.get("kind") == "reply" and e["sender"] == "mgr"
        ]

    wait_until(lambda: len(answers()) >= 1)
    got = answers()
    assert [(e["text"], e["thread_id"], e["reply_to"]) for e in got] == [
        ("The budget is 10k.", question["thread_id"], question["id"])
    ]
    wait_until(lambda: _woke_with(llm, "alice", "[mgr] The budget is 10k."))

    def finished() -> list[dict[str, Any]]:
        return [e for e in system.events("mgr", "heartbeat.finished") if e["correlation_id"] == heartbeat_id]

    wait_until(lambda: bool(finished()))
    assert finished()[0]["found"] == [f"deferred:{question['id']}"]
    _quiet(system, ORG)
    assert len(answers()) == 1


def test_two_animas_answering_each_other_forever_stop_at_the_pair_limit(
    system: RunningSystem, llm: ScriptedLLM
) -> None:
    system.configure(_config(llm, max_exchanges=100))  # the loop limit, not the bilateral one
    body = system.chat("ping", "Start talking with pong.", 90.0).json()
    assert body["outcome"] == "reply", body

    wait_until(lambda: bool(system.events("ping", "messaging.refused")), 180.0)
    _quiet(system, ("ping", "pong"))
    refused = system.events("ping", "messaging.refused")
    assert len(refused) == 1
    assert refused[0]["rule"] == "pair_depth" and refused[0]["to"] == "pong"
    assert "went back and forth 8 times" in refused[0]["reason"]
    to_pong = [e for e in system.events("pong", "message.received") if e["sender"] == "ping"]
    to_ping = [e for e in system.events("ping", "message.received") if e["sender"] == "pong"]
    asked = [e["pair_depth"] for e in to_pong if e["kind"] == "message"]
    answered = [e["pair_depth"] for e in to_ping if e["kind"] == "reply"]
    assert (asked, answered) == ([1, 3, 5, 7], [2, 4, 6, 8])
    assert [e["kind"] for e in to_pong if e["kind"] == "ack"] == ["ack"]  # acks pass the loop limit
    assert _woke_with(llm, "ping", "[pong] pong answers ping.")
    assert any(
        "not delivered" in json.dumps(r["body"]) and anima_of(r["body"]) == "ping" for r in llm.requests
    )


def test_the_seventh_exchange_in_ten_minutes_is_refused_and_acks_pass(
    system: RunningSystem, llm: ScriptedLLM
) -> None:
    system.configure(_config(llm, max_hops=100, max_pair_depth=100))
    body = system.chat("tic", "Start talking with tac.", 90.0).json()
    assert body["outcome"] == "reply", body

    wait_until(lambda: bool(system.events("tic", "messaging.refused")), 180.0)
    _quiet(system, ("tic", "tac"))
    refused = system.events("tic", "messaging.refused")
    assert [(e["rule"], e["to"]) for e in refused] == [("bilateral", "tac")]
    assert "tic and tac exchanged 6 messages in the last 10 minutes" in refused[0]["reason"]
    assert "The next can go at " in refused[0]["reason"]
    to_tac = [e for e in system.events("tac", "message.received") if e["sender"] == "tic"]
    to_tic = [e for e in system.events("tic", "message.received") if e["sender"] == "tac"]
    assert [e["kind"] for e in to_tac] == ["message", "message", "message", "ack"]
    assert [e["kind"] for e in to_tic] == ["reply", "reply", "reply"]  # 3 + 3 = 6 exchanges
    # The model read the refusal as a tool error, with the reason.
    assert any(
        anima_of(r["body"]) == "tic" and "not delivered: tic and tac exchanged 6" in json.dumps(r["body"])
        for r in llm.requests
    )
