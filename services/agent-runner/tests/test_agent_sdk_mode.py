"""Mode ``agent_sdk`` (A1) in pieces: the recording proxy, our tools as MCP tools, the CLI's options.

The proxy is tested over real HTTP against the scripted model (Anthropic format); the whole
mode, with the Claude Code CLI, runs in tests/e2e/test_agent_sdk_mode.py.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from animas_agent_runner.adapters.recording_proxy import RecordingProxy, neutral, wire_request
from animas_agent_runner.modes.agent_sdk import CallIds, mcp_tools, options, run_agent_sdk, sdk_tool_name
from animas_agent_runner.ports import (
    ModelCallFailed,
    ModelTarget,
    ToolCall,
    ToolResult,
    ToolSpec,
    TurnRequest,
    TurnResult,
    UserTurn,
)
from animas_tools.scripted_llm import ScriptedLLM, ScriptedToolCall, Turn

KEY = "sk-the-animas-own-key"


@pytest.fixture
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM(api_key=KEY) as server:
        yield server


class Calls:
    """A TurnRecorder keeping what it is told."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.calls: list[tuple[TurnRequest, TurnResult | None, ModelCallFailed | None]] = []

    async def on_text(self, text: str) -> None:
        self.texts.append(text)

    async def model_called(
        self,
        *,
        target: ModelTarget,
        request: TurnRequest,
        result: TurnResult | None,
        error: ModelCallFailed | None,
        latency_ms: float,
    ) -> None:
        assert target.model == "anthropic/claude-scripted" and latency_ms >= 0
        self.calls.append((request, result, error))


def _body(stream: bool) -> dict[str, Any]:
    return {
        "model": "claude-scripted",
        "max_tokens": 512,
        "system": [{"type": "text", "text": "You are Alice."}],
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Remember teal"}]}],
        "tools": [{"name": "mcp__animas__remember", "input_schema": {"type": "object"}}],
        "metadata": {"user_id": "device-and-session"},
        "stream": stream,
    }


def _target(llm: ScriptedLLM) -> ModelTarget:
    return ModelTarget("anthropic/claude-scripted", llm.anthropic_base, KEY, 512)


async def test_a_streamed_call_passes_through_unchanged_and_is_recorded(llm: ScriptedLLM) -> None:
    llm.load(
        [
            Turn(
                text="Noted teal.",
                tool_calls=[ScriptedToolCall(name="mcp__animas__remember", arguments={"x": 1})],
            )
        ]
    )
    recorder = Calls()
    async with RecordingProxy(_target(llm), recorder) as proxy, httpx.AsyncClient() as client:
        headers = {"x-api-key": proxy.token, "anthropic-version": "2023-06-01"}
        response = await client.post(f"{proxy.url}/v1/messages?beta=true", json=_body(True), headers=headers)
    assert response.status_code == 200 and "text/event-stream" in response.headers["content-type"]
    assert response.text.count("event: ") >= 6 and "message_stop" in response.text
    assert proxy.calls == 1 and "".join(recorder.texts) == "Noted teal."
    [(request, result, error)] = recorder.calls
    assert error is None and result is not None
    assert result.text == "Noted teal." and result.stop_reason == "tool_use"
    assert [(c.name, c.arguments) for c in result.tool_calls] == [("mcp__animas__remember", {"x": 1})]
    assert result.prompt_tokens > 0 and result.completion_tokens > 0
    assert "metadata" not in result.raw_request and result.raw_request["messages"] == _body(True)["messages"]
    assert result.raw_response["content"][0] == {"type": "text", "text": "Noted teal."}
    assert request.system == "You are Alice." and request.conversation == (UserTurn("Remember teal"),)
    # The scripted model checks the key: the proxy sent the anima's, not the CLI's token.
    sent = llm.requests[-1]
    assert sent["headers"].get("x-api-key") == "***" and KEY not in json.dumps(result.raw_request)


async def test_a_whole_answer_is_recorded_too(llm: ScriptedLLM) -> None:
    llm.load([Turn(text="Fine.")])
    recorder = Calls()
    async with RecordingProxy(_target(llm), recorder) as proxy, httpx.AsyncClient() as client:
        response = await client.post(
            f"{proxy.url}/v1/messages", json=_body(False), headers={"authorization": f"Bearer {proxy.token}"}
        )
    assert response.status_code == 200 and response.json()["content"][0]["text"] == "Fine."
    [(_, result, error)] = recorder.calls
    assert (
        error is None and result is not None and result.text == "Fine." and result.stop_reason == "end_turn"
    )


async def test_another_token_is_refused_before_the_model(llm: ScriptedLLM) -> None:
    recorder = Calls()
    async with RecordingProxy(_target(llm), recorder) as proxy, httpx.AsyncClient() as client:
        response = await client.post(f"{proxy.url}/v1/messages", json=_body(True), headers={"x-api-key": KEY})
    assert response.status_code == 401 and recorder.calls == [] and llm.requests == []


async def test_a_failed_call_is_recorded_as_failed(llm: ScriptedLLM) -> None:
    llm.load([Turn(status=529, error="overloaded")])
    recorder = Calls()
    async with RecordingProxy(_target(llm), recorder) as proxy, httpx.AsyncClient() as client:
        response = await client.post(
            f"{proxy.url}/v1/messages", json=_body(True), headers={"x-api-key": proxy.token}
        )
    assert response.status_code == 529
    [(request, result, error)] = recorder.calls
    assert result is None and error is not None and error.transient and "overloaded" in str(error)
    assert proxy.calls == 0 and request.system == "You are Alice."


def test_the_recorded_request_and_its_neutral_summary() -> None:
    body = {
        "model": "m",
        "system": "S",
        "messages": [{"role": "user", "content": "hi"}],
        "metadata": {"u": 1},
    }
    assert wire_request(body) == {
        "model": "m",
        "system": "S",
        "messages": [{"role": "user", "content": "hi"}],
    }
    assert neutral(body) == TurnRequest(system="S", conversation=(UserTurn("hi"),), max_tokens=0)


class Surface:
    """A ToolRunner: one allowed tool, and a refusal for everything else (as the ToolSurface answers)."""

    def __init__(self) -> None:
        self.ran: list[ToolCall] = []

    def specs(self) -> tuple[ToolSpec, ...]:
        schema = {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}
        return (ToolSpec("remember", "Remember a fact.", schema),)

    async def run(self, call: ToolCall) -> ToolResult:
        self.ran.append(call)
        if call.arguments.get("text") == "secret":
            return ToolResult(call.id, call.name, "Refused: not yours", is_error=True)
        return ToolResult(call.id, call.name, f"remembered {call.arguments['text']}")


async def test_our_tools_become_mcp_tools_that_run_through_the_surface() -> None:
    pytest.importorskip("claude_agent_sdk")
    surface = Surface()
    [tool] = mcp_tools(surface)
    assert tool.name == "remember" and tool.input_schema == surface.specs()[0].parameters
    assert await tool.handler({"text": "teal"}) == {
        "content": [{"type": "text", "text": "remembered teal"}],
        "is_error": False,
    }
    refused = await tool.handler({"text": "secret"})
    assert refused["is_error"] is True and refused["content"][0]["text"] == "Refused: not yours"
    assert [(c.id, c.name) for c in surface.ran] == [("sdk_1", "remember"), ("sdk_2", "remember")]


def test_the_cli_gets_our_prompt_and_tools_and_none_of_its_own(tmp_path: Path) -> None:
    pytest.importorskip("claude_agent_sdk")
    opts = options(
        system="You are Alice.",
        tools=Surface(),
        model="claude-scripted",
        fallback=None,
        base_url="http://127.0.0.1:9",
        api_key="animas-token",
        max_turns=7,
        max_tokens=1000,
        cwd=tmp_path,
        config_dir=tmp_path / "c",
    )
    assert opts.system_prompt == "You are Alice." and opts.tools == []
    assert opts.allowed_tools == [sdk_tool_name("remember")] == ["mcp__animas__remember"]
    assert opts.setting_sources == [] and opts.strict_mcp_config and opts.max_turns == 7
    assert opts.cwd == str(tmp_path) and list(opts.mcp_servers) == ["animas"]
    assert (
        opts.env["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:9"
        and opts.env["ANTHROPIC_API_KEY"] == "animas-token"
    )
    assert (
        opts.env["CLAUDE_CONFIG_DIR"] == str(tmp_path / "c")
        and opts.env["CLAUDE_CODE_MAX_OUTPUT_TOKENS"] == "1000"
    )


def test_the_cli_inherits_no_credential_of_agent_runner(tmp_path: Path) -> None:
    pytest.importorskip("claude_agent_sdk")
    environ = {
        "PATH": "/usr/bin",
        "HOME": "/home/a",
        "ANIMAWORKS_CREDENTIAL_CLAUDE_API_KEY": "sk-ant-real",
        "OPENAI_API_KEY": "sk-openai",
        "ANTHROPIC_API_KEY": "sk-ant-env",
        "AWS_SECRET_ACCESS_KEY": "aws",
        "SLACK_BOT_TOKEN": "xoxb-1",
    }
    opts = options(
        system="S",
        tools=Surface(),
        model="claude-scripted",
        fallback=None,
        base_url="http://127.0.0.1:9",
        api_key="animas-token",
        max_turns=1,
        max_tokens=100,
        cwd=tmp_path,
        config_dir=tmp_path / "c",
        environ=environ,
    )
    # The SDK starts the CLI with {**os.environ, **opts.env}: every credential is overridden.
    seen = {**environ, **opts.env}
    assert seen["ANTHROPIC_API_KEY"] == "animas-token"  # the proxy's per-cycle token, not a key
    assert all(
        v == ""
        for k, v in seen.items()
        if k not in {"PATH", "HOME"} and k in environ and k != "ANTHROPIC_API_KEY"
    )
    assert seen["PATH"] == "/usr/bin" and "sk-" not in repr(opts.env) and "xoxb" not in repr(opts.env)


async def test_without_the_sdk_the_cycle_fails_saying_the_command_to_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "claude_agent_sdk", None)  # an import of it raises ImportError
    with pytest.raises(ModelCallFailed, match=r"agent-sdk") as failed:
        await run_agent_sdk(
            system="S",
            user_text="hi",
            tools=Surface(),
            model="anthropic/claude-scripted",
            fallback=None,
            base_url="http://127.0.0.1:9",
            api_key="t",
            max_turns=2,
            max_tokens=10,
            cwd=None,
        )
    assert not failed.value.transient and "pip install 'animaworks-agent-runner[agent-sdk]'" in str(
        failed.value
    )


async def test_a_tool_call_keeps_the_id_the_model_gave_it() -> None:
    pytest.importorskip("claude_agent_sdk")
    ids, surface = CallIds(), Surface()
    ids.expect(
        (
            ToolCall("toolu_a", "mcp__animas__remember", {"text": "teal"}),
            ToolCall("toolu_b", "mcp__animas__remember", {"text": "navy"}),
        )
    )
    [tool] = mcp_tools(surface, ids)
    await tool.handler({"text": "navy"})
    await tool.handler({"text": "teal"})
    await tool.handler({"text": "teal"})  # asked for once only: numbered
    assert [c.id for c in surface.ran] == ["toolu_b", "toolu_a", "sdk_1"]


async def test_a_character_split_between_two_chunks_is_recorded_whole(llm: ScriptedLLM) -> None:
    llm.load([Turn(text="お茶をどうぞ。")])
    async with httpx.AsyncClient() as client:
        headers = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}
        streamed = (
            await client.post(f"{llm.anthropic_base}/v1/messages", json=_body(True), headers=headers)
        ).content

    async def upstream(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for start in range(0, len(streamed), 5):  # 5-byte chunks split the 3-byte characters
            await response.write(streamed[start : start + 5])
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_post("/v1/messages", upstream)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        recorder = Calls()
        target = ModelTarget("anthropic/claude-scripted", f"http://127.0.0.1:{port}", KEY, 512)
        async with RecordingProxy(target, recorder) as proxy, httpx.AsyncClient() as client:
            headers = {"x-api-key": proxy.token, "anthropic-version": "2023-06-01"}
            response = await client.post(f"{proxy.url}/v1/messages", json=_body(True), headers=headers)
    finally:
        await runner.cleanup()
    assert response.content == streamed
    [(_, result, error)] = recorder.calls
    assert error is None and result is not None and result.text == "お茶をどうぞ。"
    assert "".join(recorder.texts) == "お茶をどうぞ。"
