"""Mode ``agent_sdk`` (the seed's A1): the Claude Agent SDK drives the cycle through Claude Code.

The CLI runs the tool loop; our tools reach it as an in-process MCP server (``animas``) built
from the same :class:`ToolRunner` the other modes call, so permissions, refusals and ``tool.used``
events are the same. Claude Code's built-in tools (Bash, Read, Write, Edit, …) are switched
off: only our tools are offered and allowed. The CLI calls the model at ``base_url`` (agent-runner's
recording proxy, which writes ``llm.called``), with no user or project settings, and keeps its
session files in a temporary directory removed after the cycle.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from animas_agent_runner.modes.tool_loop import ModeOutcome, StopReason
from animas_agent_runner.ports import ModelCallFailed, ToolCall, ToolRunner, ToolSpec

SERVER = "animas"
"""The MCP server's name: the CLI calls our tools ``mcp__animas__<tool>``."""

INSTALL_HINT = "pip install 'animaworks-agent-runner[agent-sdk]' (or: python3 bootstrap.py install --dev)"


def sdk_tool_name(name: str) -> str:
    """The name the CLI knows one of our tools by."""
    return f"mcp__{SERVER}__{name}"


def _sdk() -> Any:
    try:
        import claude_agent_sdk
    except ImportError:
        raise ModelCallFailed(
            f"execution mode agent_sdk (A1) needs the Claude Agent SDK: {INSTALL_HINT}", transient=False
        ) from None
    return claude_agent_sdk


class CallIds:
    """The model's ids for the tool calls the CLI passes on to our MCP server.

    An MCP call carries only the tool's name and arguments. The recording proxy hands over each
    answer's tool calls (:meth:`expect`); a call is matched to the first unclaimed one with its
    name and arguments, so ``tool.used`` carries the id ``llm.called`` shows, as in the other
    modes. A call nothing matches is numbered ``sdk_<n>``.
    """

    def __init__(self) -> None:
        self._pending: list[ToolCall] = []
        self._numbers = itertools.count(1)

    def expect(self, calls: tuple[ToolCall, ...]) -> None:
        """The model asked for these (names as the CLI knows them)."""
        self._pending += calls

    def take(self, name: str, arguments: dict[str, Any]) -> str:
        """The id of the call of our tool ``name`` with ``arguments``."""
        for i, call in enumerate(self._pending):
            if call.name == sdk_tool_name(name) and call.arguments == arguments:
                return self._pending.pop(i).id
        return f"sdk_{next(self._numbers)}"


def mcp_tools(tools: ToolRunner, ids: CallIds | None = None) -> list[Any]:
    """Our tools as the SDK's MCP tools; each call goes through ``tools.run`` like any mode's."""
    sdk = _sdk()
    known = ids or CallIds()

    def wrap(spec: ToolSpec) -> Any:
        async def handler(arguments: dict[str, Any]) -> dict[str, Any]:
            call_id = known.take(spec.name, arguments)
            result = await tools.run(ToolCall(call_id, spec.name, dict(arguments)))
            return {"content": [{"type": "text", "text": result.content}], "is_error": result.is_error}

        return sdk.SdkMcpTool(spec.name, spec.description, spec.parameters, handler)

    return [wrap(spec) for spec in tools.specs()]


def _places(cwd: Path | None, scratch: Path) -> tuple[Path, Path]:
    """Where the CLI runs (the workspace, else the scratch directory) and keeps its files."""
    config_dir = scratch / "claude"
    config_dir.mkdir()
    return (cwd if cwd is not None and cwd.is_dir() else scratch), config_dir


_SECRET_NAME = re.compile(
    r"ANIMAWORKS_CREDENTIAL_.*|.*_API_KEY|.*_TOKEN|.*SECRET.*|.*PASSWORD.*|AWS_.*|ANTHROPIC_AUTH_TOKEN"
)
"""Variables that hold credentials (the model keys agent-runner is given, cloud and platform tokens)."""


def blanked_secrets(environ: Mapping[str, str]) -> dict[str, str]:
    """Every credential-looking variable of ``environ``, set to empty for the CLI.

    The SDK starts the CLI with agent-runner's whole environment and only lets options add to it,
    so a variable is hidden by overriding it; the CLI reaches the model through our proxy and
    needs none of them.
    """
    return {name: "" for name in environ if _SECRET_NAME.fullmatch(name)}


def options(
    *,
    system: str,
    tools: ToolRunner,
    model: str,
    fallback: str | None,
    base_url: str,
    api_key: str,
    max_turns: int,
    max_tokens: int,
    cwd: Path,
    config_dir: Path,
    ids: CallIds | None = None,
    environ: Mapping[str, str] | None = None,
) -> Any:
    """The CLI's options: our system prompt and tools only, the model behind ``base_url``.

    ``environ`` is the environment the SDK will pass on (agent-runner's own by default): its
    credentials are blanked, so the CLI holds no key but the proxy's per-cycle token.
    """
    sdk = _sdk()
    names = [sdk_tool_name(spec.name) for spec in tools.specs()]
    inherited = os.environ if environ is None else environ  # noqa: TID251 (what the SDK passes on)
    env = {
        **blanked_secrets(inherited),
        "ANTHROPIC_BASE_URL": base_url,
        "ANTHROPIC_API_KEY": api_key,
        "CLAUDE_CONFIG_DIR": str(config_dir),
        "CLAUDE_CODE_MAX_OUTPUT_TOKENS": str(max_tokens),
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_TELEMETRY": "1",
        # All our tools up front: no tool-search placeholder tool in the request.
        "ENABLE_TOOL_SEARCH": "false",
    }
    return sdk.ClaudeAgentOptions(
        system_prompt=system,
        tools=[],  # no built-in tool: Bash, Read, Write and the rest are not offered at all
        mcp_servers={SERVER: sdk.create_sdk_mcp_server(SERVER, tools=mcp_tools(tools, ids))},
        allowed_tools=names,
        strict_mcp_config=True,
        setting_sources=[],
        max_turns=max_turns,
        model=model,
        fallback_model=fallback,
        cwd=str(cwd),
        env=env,
        max_thinking_tokens=0,
    )


async def run_agent_sdk(
    *,
    system: str,
    user_text: str,
    tools: ToolRunner,
    model: str,
    fallback: str | None,
    base_url: str,
    api_key: str,
    max_turns: int,
    max_tokens: int,
    cwd: Path | None,
    ids: CallIds | None = None,
) -> ModeOutcome:
    """One cycle through the Claude Agent SDK; the reply is the CLI's final result.

    The outcome's ``turns`` is 0: the CLI makes the model calls, and whoever counts them (the
    recording proxy) fills it in.
    """
    sdk = _sdk()
    used = 0
    reply, said, stop = "", [], StopReason.DONE
    with tempfile.TemporaryDirectory(prefix="animas-a1-") as scratch:
        where, config_dir = await asyncio.to_thread(_places, cwd, Path(scratch))
        opts = options(
            system=system,
            tools=tools,
            model=model.removeprefix("anthropic/"),
            fallback=fallback.removeprefix("anthropic/") if fallback else None,
            base_url=base_url,
            api_key=api_key,
            max_turns=max_turns,
            max_tokens=max_tokens,
            cwd=where,
            config_dir=config_dir,
            ids=ids,
        )
        try:
            async for message in sdk.query(prompt=user_text, options=opts):
                if isinstance(message, sdk.AssistantMessage):
                    for block in message.content:
                        if isinstance(block, sdk.ToolUseBlock):
                            used += 1
                        elif isinstance(block, sdk.TextBlock) and block.text.strip():
                            said.append(block.text.strip())
                elif isinstance(message, sdk.ResultMessage):
                    if message.subtype == "error_max_turns":
                        stop = StopReason.MAX_TURNS
                    elif message.is_error:
                        raise ModelCallFailed(
                            f"Claude Code ended the cycle with an error: {message.result or message.subtype}",
                            transient=True,
                        )
                    else:
                        reply = (message.result or "").strip()
        except sdk.ClaudeSDKError as exc:
            raise ModelCallFailed(f"Claude Code failed: {exc}", transient=True) from exc
    return ModeOutcome(
        reply=reply or (said[-1] if said else ""),
        model=model,
        turns=0,
        tool_calls=used,
        stop=stop,
    )
