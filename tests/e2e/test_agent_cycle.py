"""The agent cycle end to end (issue #5): modes, tools under permissions, encoding, messages, streaming.

One system (`anima up` in a temporary home) serves every scenario; the scripted LLM answers in the
OpenAI and Anthropic wire formats, so the real litellm and Anthropic SDK client code runs. Turns
carry a ``match`` so that concurrent animas each take their own.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any, TypeVar

import msgspec
import pytest
from nats.aio.client import Client
from tests.conftest import RunningSystem, start_system

from animas_contracts import (
    Event,
    MemoryOpApplied,
    MessageKind,
    MessageOrigin,
    MessageReceived,
    OutboundRequested,
    PrimeReply,
    PrimeRequest,
    ResponseSent,
    ToolStatus,
    ToolUsed,
)
from animas_contracts.subjects import rpc_subject
from animas_core.anima_files import AnimaSpec, template_files
from animas_tools.animas_cli import creation_event
from animas_tools.events import read_activity
from animas_tools.publish import publish_change
from animas_tools.scripted_llm import ScriptedLLM, ScriptedToolCall, Turn

T = TypeVar("T")

pytestmark = [pytest.mark.e2e, pytest.mark.nats, pytest.mark.slow]

LESSON = "Tanaka-san rejected our casual reply; always use formal business language with Tanaka-san"

WORKER_PERMISSIONS = """# Permissions: worker

## Available Tools
Read, Write, Bash

## Readable Locations
- Under /workspace/worker/

## Writable Locations
- Under /workspace/worker/

## Invisible Locations
- /workspace/worker/secret.txt

## Allowed Commands
ls, cat

## Disallowed Commands
rm -rf
"""


def _create(system: RunningSystem, name: str, extra: dict[str, str] | None = None) -> None:
    files = template_files(AnimaSpec(name=name, role="general"), "general")
    # No active hours: a message between animas is answered now, whatever the time of day the
    # suite runs at (the template's hours would defer it to a heartbeat outside them).
    files["heartbeat.md"] = ALWAYS_AWAKE
    files.update(extra or {})
    event = creation_event(name, files, "template:general")
    answer = system.admin(lambda nc: publish_change(nc, event, timeout_s=60))
    assert isinstance(answer, MemoryOpApplied), answer


def events(system: RunningSystem, anima: str = "*", event_type: str = ">") -> list[Event]:
    async def read(nc: Client) -> list[Event]:
        found = []
        async for stored in read_activity(nc.jetstream(), anima=anima, event_type=event_type):
            if stored.event is not None:
                found.append(stored.event)
        return found

    return system.admin(read)


def _wait(condition: Callable[[], bool], what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _tool_uses(system: RunningSystem, anima: str, correlation_id: str) -> list[ToolUsed]:
    return [
        e
        for e in events(system, anima, "tool.used")
        if isinstance(e, ToolUsed) and e.correlation_id == correlation_id
    ]


def _system_prompt(request: dict[str, Any]) -> str:
    body = request["body"]
    if request.get("format") == "anthropic":
        system = body.get("system", "")
        return system if isinstance(system, str) else "".join(block.get("text", "") for block in system)
    return str(body["messages"][0]["content"])


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM() as server:
        yield server


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory, llm: ScriptedLLM) -> Iterator[RunningSystem]:
    running = start_system(tmp_path_factory.mktemp("cycle") / "home")
    try:
        running.configure(
            {
                "version": 1,
                "credentials": {
                    "scripted": {"api_key": "scripted-key", "base_url": llm.openai_base},
                    "claude": {"api_key": "scripted-key", "base_url": llm.anthropic_base},
                },
                "anima_defaults": {"model": "openai/scripted", "credential": "scripted"},
                "animas": {
                    "claude": {"model": "anthropic/claude-scripted", "credential": "claude"},
                    "tiny": {"execution_mode": "assisted"},
                },
            }
        )
        three_weeks_ago = date.today() - timedelta(days=21)
        _create(
            running,
            "clerk",
            {
                f"episodes/{three_weeks_ago.isoformat()}.md": (
                    f"# {three_weeks_ago.isoformat()} Action Log\n\n## 15:10 Reply to Tanaka-san\n"
                    "- Trigger: Message received\n- Decision: drafted a casual reply\n"
                    f"- Result: Rejected\n- Lesson: {LESSON}\n"
                )
            },
        )
        for name in ("claude", "tiny", "alice"):
            _create(running, name)
        # Awake around the clock: another anima's message outside active hours would wait for
        # bob's next heartbeat (tests/e2e/test_autonomy.py), whenever this suite runs.
        _create(running, "bob")
        _create(running, "worker", {"permissions.md": WORKER_PERMISSIONS})
        yield running
    finally:
        running.stop()


ALWAYS_AWAKE = "## Execution Interval\nEvery 30 minutes\n\n## Active Hours\n0:00 - 24:00\n"


def _chat(system: RunningSystem, anima: str, text: str, sender: str = "human") -> dict[str, Any]:
    response = system.chat(anima, text, timeout_s=90, sender=sender)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _requests_matching(llm: ScriptedLLM, needle: str) -> list[dict[str, Any]]:
    return [r for r in llm.requests if needle in json.dumps(r["body"], ensure_ascii=False)]


def test_can_it_remember_a_past_rejection(system: RunningSystem, llm: ScriptedLLM) -> None:
    """Seed 000 "Can it remember?": the lesson of an old episode shapes today's prompt."""
    llm.load([Turn(text="Dear Tanaka-san, thank you for your patience.", match="Reply to Tanaka-san")])
    _wait(lambda: any(LESSON in e for e in _primed(system)), "the old episode to be indexed", 180)

    body = _chat(system, "clerk", "Reply to Tanaka-san about the schedule", sender="tanaka")

    assert (body["reply"], body["outcome"]) == ("Dear Tanaka-san, thank you for your patience.", "reply")
    request = _requests_matching(llm, "Reply to Tanaka-san about the schedule")[-1]
    system_prompt = _system_prompt(request)
    assert LESSON in system_prompt
    assert "Making decisions without searching memory is prohibited." in system_prompt
    vision = (system.home / "shared" / "company" / "vision.md").read_text()
    assert max(vision.splitlines(), key=len) in system_prompt  # the organization's vision (section 3)
    today = system.home / "animas" / "clerk" / "episodes" / f"{date.today().isoformat()}.md"
    _wait(today.exists, "today's episode")
    entry = today.read_text()
    assert "Reply to tanaka" in entry and "- Trigger: Message received (from tanaka)" in entry
    assert "Replied: Dear Tanaka-san, thank you for your patience." in entry


def _primed(system: RunningSystem) -> list[str]:
    async def ask(nc: Client) -> PrimeReply:
        request = msgspec.json.encode(
            PrimeRequest(text="Reply to Tanaka-san about the schedule", sender="tanaka")
        )
        msg = await nc.request(rpc_subject("priming", "prime", "clerk"), request, timeout=30)
        return msgspec.json.decode(msg.data, type=PrimeReply)

    return [system.admin(ask).text()]


def test_a_multi_turn_tool_loop_in_the_litellm_mode(system: RunningSystem, llm: ScriptedLLM) -> None:
    llm.load(
        [
            Turn(
                match="Where is Tanaka-san's office now?",
                tool_calls=[ScriptedToolCall(name="search_memory", arguments={"query": "Tanaka-san"})],
            ),
            Turn(
                match="result(s) for 'Tanaka-san'",
                tool_calls=[
                    ScriptedToolCall(
                        name="remember",
                        arguments={"topic": "contacts", "fact": "Tanaka-san's office moved to Osaka"},
                    )
                ],
            ),
            Turn(match="Remembered in knowledge/contacts.md", text="Noted: the office is in Osaka now."),
        ]
    )

    body = _chat(system, "clerk", "Where is Tanaka-san's office now? It moved to Osaka.")

    assert body["reply"] == "Noted: the office is in Osaka now."
    requests = _requests_matching(llm, "Where is Tanaka-san's office now?")
    assert len(requests) == 3 and {r["format"] for r in requests} == {"openai"}
    tool_messages = [m for m in requests[1]["body"]["messages"] if m["role"] == "tool"]
    assert len(tool_messages) == 1 and "Tanaka-san" in tool_messages[0]["content"]
    assert {t["function"]["name"] for t in requests[0]["body"]["tools"]} >= {"search_memory", "remember"}
    uses = _tool_uses(system, "clerk", body["correlation_id"])
    assert [(u.tool, u.status) for u in uses] == [
        ("search_memory", ToolStatus.OK),
        ("remember", ToolStatus.OK),
    ]
    contacts = system.home / "animas" / "clerk" / "knowledge" / "contacts.md"
    _wait(contacts.exists, "knowledge/contacts.md")
    assert "- Tanaka-san's office moved to Osaka" in contacts.read_text()


def test_a_multi_turn_tool_loop_in_the_anthropic_mode(system: RunningSystem, llm: ScriptedLLM) -> None:
    llm.load(
        [
            Turn(
                match="Please plan the quarterly review",
                tool_calls=[
                    ScriptedToolCall(name="add_task", arguments={"title": "Plan the quarterly review"})
                ],
            ),
            Turn(match="Added task", text="I have added it to my tasks."),
        ]
    )

    body = _chat(system, "claude", "Please plan the quarterly review")

    assert body["reply"] == "I have added it to my tasks."
    requests = _requests_matching(llm, "Please plan the quarterly review")
    assert [r["format"] for r in requests] == ["anthropic", "anthropic"]
    assert requests[0]["body"]["model"] == "claude-scripted"
    results = [
        block
        for message in requests[1]["body"]["messages"]
        if isinstance(message["content"], list)
        for block in message["content"]
        if block.get("type") == "tool_result"
    ]
    assert len(results) == 1 and "Added task" in json.dumps(results[0])
    started = events(system, "claude", "cycle.started")[-1]
    assert getattr(started, "mode", None) == "anthropic"
    pending = system.home / "animas" / "claude" / "state" / "pending.md"
    _wait(lambda: pending.exists() and "Plan the quarterly review" in pending.read_text(), "the new task")


def test_the_assisted_mode_survives_a_malformed_reply(system: RunningSystem, llm: ScriptedLLM) -> None:
    llm.load([Turn(match="How are you today?", text='Fine, thanks! {"reply": "Fine", "remember": [oops')])

    body = _chat(system, "tiny", "How are you today?")

    assert body["outcome"] == "reply" and "Fine, thanks!" in body["reply"]
    request = _requests_matching(llm, "How are you today?")[-1]["body"]
    assert "tools" not in request and "Answer with one JSON object" in request["messages"][0]["content"]
    assert getattr(events(system, "tiny", "cycle.started")[-1], "mode", None) == "assisted"


def test_permissions_refuse_with_a_tool_error_and_an_event(system: RunningSystem, llm: ScriptedLLM) -> None:
    workspace = system.home / "workspace"
    area = workspace / "worker"
    area.mkdir(parents=True, exist_ok=True)
    (area / "secret.txt").write_text("the vault code")
    (area / "victim").mkdir(exist_ok=True)
    outside = system.home.parent / "outside"
    outside.mkdir(exist_ok=True)
    if not (area / "link").exists():
        os.symlink(outside, area / "link")
    identity_before = (system.home / "animas" / "worker" / "identity.md").read_text()
    calls = [
        ScriptedToolCall(name="read_file", arguments={"path": "secret.txt"}),
        ScriptedToolCall(name="read_file", arguments={"path": str(system.home / "config.json")}),
        ScriptedToolCall(name="write_file", arguments={"path": "../intruder.txt", "content": "x"}),
        ScriptedToolCall(name="write_file", arguments={"path": "link/escaped.txt", "content": "x"}),
        ScriptedToolCall(
            name="write_memory_file", arguments={"path": "identity.md", "content": "I am someone else."}
        ),
        ScriptedToolCall(name="run_command", arguments={"command": "rm -rf victim"}),
        ScriptedToolCall(name="run_command", arguments={"command": "ls; rm -rf victim"}),
        ScriptedToolCall(name="run_command", arguments={"command": "git status"}),
        ScriptedToolCall(name="run_command", arguments={"command": "ls"}),
    ]
    llm.load(
        [
            Turn(match="Tidy up the workspace", tool_calls=calls),
            Turn(match="Refused", text="Done what I may."),
        ]
    )

    body = _chat(system, "worker", "Tidy up the workspace")

    assert body["reply"] == "Done what I may."
    uses = _tool_uses(system, "worker", body["correlation_id"])
    assert [u.status for u in uses] == [ToolStatus.DENIED] * 8 + [ToolStatus.OK]
    reasons = [u.reason or "" for u in uses]
    assert "invisible" in reasons[0]
    assert "identity.md" in reasons[4]
    assert "victim" in uses[8].result
    assert not (workspace / "intruder.txt").exists() and not (outside / "escaped.txt").exists()
    assert (area / "victim").is_dir() and (area / "secret.txt").read_text() == "the vault code"
    assert (system.home / "animas" / "worker" / "identity.md").read_text() == identity_before
    tool_results = [
        m
        for m in _requests_matching(llm, "Tidy up the workspace")[-1]["body"]["messages"]
        if m["role"] == "tool"
    ]
    assert len(tool_results) == 9 and all(m["content"].startswith("Refused:") for m in tool_results[:8])


def test_a_message_between_animas_starts_one_cycle_of_the_recipient(
    system: RunningSystem, llm: ScriptedLLM
) -> None:
    llm.load(
        [
            Turn(
                match="Ask bob for the report",
                tool_calls=[
                    ScriptedToolCall(
                        name="send_message", arguments={"to": "bob", "text": "Please send the report."}
                    )
                ],
            ),
            Turn(match="Message to bob delivered", text="I have asked bob."),
            Turn(match="[alice] Please send the report.", text="On its way."),
            # bob's answer comes back to alice, who asked: a cycle of hers that reads it.
            Turn(match="[bob] On its way.", text="Good, bob is on it."),
        ]
    )

    body = _chat(system, "alice", "Ask bob for the report")

    assert body["reply"] == "I have asked bob."
    _wait(lambda: len(_delivered_to_bob(system, body["thread_id"])) >= 1, "bob's message")
    _wait(
        lambda: any(
            isinstance(e, ResponseSent) and e.text == "On its way."
            for e in events(system, "bob", "response.sent")
        ),
        "bob's answer",
    )
    time.sleep(1.0)  # a duplicate would arrive within this
    delivered = _delivered_to_bob(system, body["thread_id"])
    assert len(delivered) == 1
    message = delivered[0]
    assert (message.sender, message.origin, message.text) == (
        "alice",
        MessageOrigin.ANIMA,
        "Please send the report.",
    )
    bob_cycles = [
        e for e in events(system, "bob", "cycle.started") if e.correlation_id == message.correlation_id
    ]
    assert len(bob_cycles) == 1

    # bob's answer reached alice once, as a reply in the same thread; hers goes to no one.
    def alices_reading() -> list[ResponseSent]:
        said = [e for e in events(system, "alice", "response.sent") if isinstance(e, ResponseSent)]
        return [e for e in said if e.text == "Good, bob is on it."]

    _wait(lambda: bool(alices_reading()), "alice to read bob's answer")
    answers = [
        e
        for e in events(system, "alice", "message.received")
        if isinstance(e, MessageReceived) and e.sender == "bob" and e.thread_id == body["thread_id"]
    ]
    assert [(a.kind, a.text, a.reply_to) for a in answers] == [(MessageKind.REPLY, "On its way.", message.id)]
    assert [read.deliver for read in alices_reading()] == [False]


def _delivered_to_bob(system: RunningSystem, thread_id: str) -> list[MessageReceived]:
    return [
        e
        for e in events(system, "bob", "message.received")
        if isinstance(e, MessageReceived) and e.thread_id == thread_id
    ]


def test_a_message_to_an_unknown_anima_is_an_error_for_the_sender(
    system: RunningSystem, llm: ScriptedLLM
) -> None:
    before = len(events(system, "*", "message.received"))
    llm.load(
        [
            Turn(
                match="Tell nobody the news",
                tool_calls=[
                    ScriptedToolCall(name="send_message", arguments={"to": "nobody", "text": "News!"})
                ],
            ),
            Turn(match="there is no anima named", text="There is no one called nobody."),
        ]
    )

    body = _chat(system, "alice", "Tell nobody the news")

    assert body["reply"] == "There is no one called nobody."
    uses = _tool_uses(system, "alice", body["correlation_id"])
    assert [(u.tool, u.status) for u in uses] == [("send_message", ToolStatus.ERROR)]
    assert "there is no anima named 'nobody'" in (uses[0].reason or "")
    outbound = [e for e in events(system, "alice", "outbound.requested") if isinstance(e, OutboundRequested)]
    assert not [e for e in outbound if e.correlation_id == body["correlation_id"]]
    assert len(events(system, "*", "message.received")) == before + 1  # only the human's message


def test_the_sse_endpoint_passes_the_reply_on_in_pieces(system: RunningSystem, llm: ScriptedLLM) -> None:
    words = "Good morning. Here is the plan for today: first the report, then the review, then lunch."
    llm.load([Turn(match="What is the plan?", text=words, chunk_delay_s=0.15)])
    started = time.monotonic()
    process = subprocess.Popen(
        [
            "curl",
            "-sN",
            "-X",
            "POST",
            "-H",
            "content-type: application/json",
            "-d",
            json.dumps({"message": "What is the plan?"}),
            f"{system.url}/api/animas/alice/chat/stream",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    arrivals: list[tuple[float, str, str]] = []
    event_name = ""
    for line in process.stdout:
        line = line.rstrip("\n")
        if line.startswith("event: "):
            event_name = line[len("event: ") :]
        elif line.startswith("data: "):
            arrivals.append((time.monotonic() - started, event_name, line[len("data: ") :]))
    assert process.wait(30) == 0
    deltas = [(t, json.loads(data)) for t, name, data in arrivals if name == "delta"]
    replies = [(t, json.loads(data)) for t, name, data in arrivals if name == "reply"]
    assert len(replies) == 1 and replies[0][1]["reply"] == words
    texts = [d["text"] for _, d in deltas if d["kind"] == "text"]
    assert len(texts) >= 2 and "".join(texts) == words
    assert deltas[0][0] < replies[0][0] - 0.3  # the first piece came well before the end
