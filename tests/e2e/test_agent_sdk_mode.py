"""Mode A1 (``agent_sdk``) end to end: the Claude Code CLI of the Claude Agent SDK drives a cycle.

``anima up`` runs every service; one anima is configured with ``execution_mode: "A1"`` and a
credential pointing at the scripted model, which speaks the Anthropic Messages format (streamed).
The CLI calls our tools through the in-process MCP server and the model through agent-runner's
recording proxy; the cycle's events are the other modes' (#17 acceptance 6).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from nats.aio.client import Client
from tests.conftest import RunningSystem, start_system

from animas_contracts import CycleStarted, Event, LlmCalled, MemoryOpApplied, ToolStatus, ToolUsed
from animas_core.anima_files import AnimaSpec, template_files
from animas_tools.animas_cli import creation_event
from animas_tools.events import read_activity
from animas_tools.publish import publish_change
from animas_tools.scripted_llm import ScriptedLLM, ScriptedToolCall, Turn

pytest.importorskip("claude_agent_sdk", reason="the agent-sdk extra (bootstrap.py's dev install has it)")

pytestmark = [pytest.mark.e2e, pytest.mark.nats, pytest.mark.slow]

KEY = "sk-scripted-a1-key"

PERMISSIONS = """# Permissions: agent

## Available Tools
Read, Write, Bash

## Readable Locations
- Under /workspace/agent/

## Writable Locations
- Under /workspace/agent/

## Invisible Locations
- /workspace/agent/secret.txt

## Allowed Commands
ls, cat
"""


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM(api_key=KEY) as server:
        yield server


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory, llm: ScriptedLLM) -> Iterator[RunningSystem]:
    running = start_system(tmp_path_factory.mktemp("a1") / "home")
    try:
        running.configure(
            {
                "version": 1,
                "credentials": {"claude": {"api_key": KEY, "base_url": llm.anthropic_base}},
                "anima_defaults": {"model": "anthropic/claude-scripted", "credential": "claude"},
                "animas": {"agent": {"execution_mode": "A1", "max_turns": 4}},
            }
        )
        files = template_files(AnimaSpec(name="agent", role="general"), "general")
        files["heartbeat.md"] = "## Execution Interval\nEvery 30 minutes\n\n## Active Hours\n0:00 - 24:00\n"
        files["permissions.md"] = PERMISSIONS
        event = creation_event("agent", files, "template:general")
        answer = running.admin(lambda nc: publish_change(nc, event, timeout_s=60))
        assert isinstance(answer, MemoryOpApplied), answer
        yield running
    finally:
        running.stop()


def _events(system: RunningSystem, correlation_id: str, event_type: str) -> list[Event]:
    async def read(nc: Client) -> list[Event]:
        found = []
        async for stored in read_activity(nc.jetstream(), anima="agent", event_type=event_type):
            if stored.event is not None and stored.event.correlation_id == correlation_id:
                found.append(stored.event)
        return found

    return system.admin(read)


def _tool_results(request: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        block
        for message in request["body"]["messages"]
        if isinstance(message["content"], list)
        for block in message["content"]
        if block.get("type") == "tool_result"
    ]


def test_an_a1_anima_answers_with_tools_through_the_agent_sdk(
    system: RunningSystem, llm: ScriptedLLM
) -> None:
    area = system.home / "workspace" / "agent"
    area.mkdir(parents=True, exist_ok=True)
    (area / "secret.txt").write_text("the vault code")
    (area / "notes.txt").write_text("quarterly review on Friday")
    llm.load(
        [
            Turn(
                match="Plan the quarterly review",
                tool_calls=[
                    ScriptedToolCall(
                        name="mcp__animas__add_task", arguments={"title": "Plan the quarterly review"}
                    ),
                    ScriptedToolCall(name="mcp__animas__read_file", arguments={"path": "secret.txt"}),
                    ScriptedToolCall(name="mcp__animas__read_file", arguments={"path": "notes.txt"}),
                ],
            ),
            Turn(match="Added task", text="Added to my tasks; the review is on Friday."),
        ]
    )

    response = system.chat("agent", "Plan the quarterly review, please.", timeout_s=90)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["reply"] == "Added to my tasks; the review is on Friday."
    correlation = body["correlation_id"]
    requests = [r for r in llm.requests if "Plan the quarterly review" in json.dumps(r["body"])]
    assert len(requests) == 2 and all(r["format"] == "anthropic" for r in requests)
    first = requests[0]["body"]
    assert first["model"] == "claude-scripted" and first["stream"] is True
    offered = [t["name"] for t in first["tools"]]
    # Our tools only (under the anima's permissions), none of Claude Code's own.
    assert "mcp__animas__add_task" in offered and "mcp__animas__read_file" in offered
    assert not {"Bash", "Read", "Write", "Edit"} & set(offered)
    assert [n for n in offered if not n.startswith("mcp__animas__")] == []
    system_text = first["system"] if isinstance(first["system"], str) else json.dumps(first["system"])
    assert "agent" in system_text  # the prompt agent-runner built for the anima
    results = _tool_results(requests[1])
    assert len(results) == 3
    assert "Refused" in json.dumps(results[1]) and "vault" not in json.dumps(results[1])
    assert "quarterly review on Friday" in json.dumps(results[2])

    started = [e for e in _events(system, correlation, "cycle.started") if isinstance(e, CycleStarted)]
    assert [e.mode for e in started] == ["agent_sdk"]
    uses = [e for e in _events(system, correlation, "tool.used") if isinstance(e, ToolUsed)]
    assert [(u.tool, u.status) for u in uses] == [
        ("add_task", ToolStatus.OK),
        ("read_file", ToolStatus.DENIED),
        ("read_file", ToolStatus.OK),
    ]
    assert "invisible" in (uses[1].reason or "")
    calls = [e for e in _events(system, correlation, "llm.called") if isinstance(e, LlmCalled)]
    assert [c.ordinal for c in calls] == [0, 1]
    assert all(c.model == "anthropic/claude-scripted" and c.error is None for c in calls)
    assert all(c.usage.prompt_tokens > 0 and c.usage.completion_tokens > 0 for c in calls)
    assert calls[0].turn is not None and [t.name for t in calls[0].turn.tool_calls] == [
        "mcp__animas__add_task",
        "mcp__animas__read_file",
        "mcp__animas__read_file",
    ]
    # The MCP calls carry the model's tool-use ids, as tool.used does in the other modes.
    assert [u.call_id for u in uses] == [c.id for c in calls[0].turn.tool_calls]
    recorded = json.dumps(
        [c.request.inline for c in calls] + [c.response.inline for c in calls if c.response]
    )
    assert "Plan the quarterly review" in recorded and "Added to my tasks" in recorded
    assert KEY not in recorded and "metadata" not in json.dumps([c.request.inline for c in calls])
