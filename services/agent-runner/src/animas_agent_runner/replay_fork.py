"""``anima replay fork``: an anima's recorded cycles run again with another model, for real.

Each cycle's prompt is rebuilt from its recipe as a replay does, and the conversation goes to
the fork's model through the client agent-runner itself would use (litellm, or the Anthropic
SDK for Claude in the anthropic mode): real model calls, with the credential from config.json
or the environment. Everything else stays in the shadow folder:

- No tool runs in a fork. A call of the tool the recording has at the same position, with the
  same arguments, gets the recorded result; any other call gets an error saying it was not run
  (``RecordedTools``). A fork therefore cannot write memory, send a message, touch a file or
  fetch a page: every tool's effect would leave the shadow, so none is allowed to happen.
- Nothing is published. The fork's model calls (requests as sent, which never hold the key,
  and responses) go to ``<shadow>/fork/<cycle>.json`` with the two replies side by side.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from animas_agent_runner import domain
from animas_agent_runner.modes.calls import Candidate, ModelChain
from animas_agent_runner.ports import (
    ModelCallFailed,
    ModelTarget,
    ToolSpec,
    TurnModel,
    TurnRequest,
    TurnResult,
)
from animas_agent_runner.replay import RecordedCycle, RecordedTools, named_specs, recipe_of, rerun, same_reply
from animas_agent_runner.replay_batch import cycles_among, finish, same_tool_calls, write_json
from animas_contracts import Event
from animas_core.config import ConfigError, load_config, resolve_mode

FORK_TIMEOUT_S = 600.0
"""A fork's model call may take as long as a cycle's (agent-runner's default)."""


class _Calls:
    """Keeps the fork's model calls for the shadow (the TurnRecorder port); publishes nothing."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    async def on_text(self, text: str) -> None:
        return None

    async def model_called(
        self,
        *,
        target: ModelTarget,
        request: TurnRequest,
        result: TurnResult | None,
        error: ModelCallFailed | None,
        latency_ms: float,
    ) -> None:
        self.calls.append(
            {
                "model": target.model,
                "request": result.raw_request if result else None,
                "response": result.raw_response if result else None,
                "text": result.text if result else None,
                "error": str(error) if error else None,
                "latency_ms": round(latency_ms, 1),
            }
        )


def offered_specs(cycle: RecordedCycle) -> tuple[ToolSpec, ...]:
    """The tools as the original model was offered them (its first recorded request's ``tools``).

    OpenAI's shape (``function.parameters``) and Anthropic's (``input_schema``) are read; a
    request without tools (assisted mode) falls back to the recipe's tool names.
    """
    request = cycle.calls[0].request.inline if cycle.calls else None
    tools = request.get("tools") if isinstance(request, dict) else None
    specs = []
    for tool in tools if isinstance(tools, list) else []:
        if not isinstance(tool, dict):
            continue
        inner = tool.get("function")
        function: dict[str, Any] = inner if isinstance(inner, dict) else tool
        schema = function.get("parameters") or function.get("input_schema") or {"type": "object"}
        specs.append(ToolSpec(str(function.get("name")), str(function.get("description") or ""), schema))
    if specs:
        return tuple(specs)
    recipe = recipe_of(cycle)
    return named_specs(recipe.prompt_inputs.tool_names if recipe.prompt_inputs else ())


@dataclasses.dataclass(frozen=True)
class Forked:
    """One cycle run again with the fork's model."""

    cycle: RecordedCycle
    reply: str | None
    error: str | None
    tools_same: bool
    record: dict[str, Any]


async def fork_cycle(cycle: RecordedCycle, client: TurnModel, target: ModelTarget, mode: str) -> Forked:
    """Run ``cycle``'s recipe with ``target``'s model, its tools answered from the recording."""
    recipe = recipe_of(cycle)
    plan = dataclasses.replace(recipe.plan, model=target.model, fallback=None, mode=mode)
    recipe = dataclasses.replace(recipe, plan=plan)
    calls = _Calls()
    chain = ModelChain((Candidate(client, dataclasses.replace(target, max_tokens=plan.max_tokens)),), calls)
    report = await rerun(cycle, recipe, chain, RecordedTools(offered_specs(cycle), cycle.tools))
    error = next((c["error"] for c in calls.calls if c["error"]), None)
    original = cycle.reply.text if cycle.reply else None
    tools_same = same_tool_calls(cycle.tools, report.tool_calls)
    record = {
        "cycle_id": cycle.started.id,
        "anima": cycle.started.anima,
        "started_at": cycle.started.ts.isoformat(),
        "original": {
            "model": cycle.started.model,
            "reply": original,
            "tool_calls": [{"tool": u.tool, "arguments": u.arguments} for u in cycle.tools],
        },
        "fork": {
            "model": target.model,
            "mode": mode,
            "reply": report.replayed_reply,
            "tool_calls": [{"tool": c.name, "arguments": c.arguments} for c in report.tool_calls],
            "calls": calls.calls,
            "error": error,
        },
        "reply_same": original is not None and same_reply(original, report.replayed_reply),
        "tool_calls_same": tools_same,
    }
    return Forked(cycle, report.replayed_reply, error, tools_same, record)


def _render(forked: Forked) -> list[str]:
    started = forked.cycle.started
    original = forked.cycle.reply.text if forked.cycle.reply else None
    same = bool(forked.record["reply_same"])
    fork_tools = ", ".join(c["tool"] for c in forked.record["fork"]["tool_calls"]) or "none"
    original_tools = ", ".join(u.tool for u in forked.cycle.tools) or "none"
    lines = [
        f"cycle {started.id} at {started.ts.isoformat()}: reply {'same' if same else 'DIFFERENT'}",
        f"  original ({started.model}): {original!r}",
        f"  fork ({forked.record['fork']['model']}): {forked.reply!r}",
        f"  tool calls: original {original_tools}; fork {fork_tools}",
    ]
    if forked.error:
        lines.append(f"  the fork's model call failed: {forked.error}")
    return lines


async def _fork_all(
    cycles: Sequence[RecordedCycle], shadow: Path, client: TurnModel, target: ModelTarget, mode: str
) -> list[Forked]:
    done = []
    for cycle in cycles:
        forked = await fork_cycle(cycle, client, target, mode)
        write_json(shadow / "fork" / f"{cycle.started.id}.json", forked.record)
        done.append(forked)
    return done


def _client(model: str, mode: str) -> TurnModel:
    # The clients agent-runner builds (app.default_models), imported here: they cost seconds.
    from animas_agent_runner.adapters.anthropic_model import AnthropicTurnModel
    from animas_agent_runner.adapters.litellm_model import LiteLLMTurnModel

    if domain.client_for(model, mode) == "anthropic":
        return AnthropicTurnModel(timeout_s=FORK_TIMEOUT_S)
    return LiteLLMTurnModel(timeout_s=FORK_TIMEOUT_S)


def fork_main(events: list[Event], shadow: Path, *, model: str, config: Path, credential: str | None) -> int:
    """Fork every cycle among ``events`` (one anima's) with ``model``; 1 when a fork call failed."""
    began = time.monotonic()
    cycles, skipped = cycles_among(events)
    if not cycles:
        finish(shadow, [f"no replayable cycle among the events ({len(skipped)} not replayable)"])
        return 1
    anima = cycles[0].started.anima
    try:
        loaded = load_config(config)
        mode = resolve_mode(loaded, model)
    except ConfigError as exc:
        finish(shadow, [f"error: {exc}"])
        return 2
    if mode == "agent_sdk":
        finish(shadow, [f"error: {model} runs in mode agent_sdk, whose tools a fork cannot hold back"])
        return 2
    name = credential or loaded.anima(anima).credential
    target = domain.credential_target(loaded, name, model, loaded.anima(anima).max_tokens)
    if isinstance(target, domain.NoModel):
        finish(shadow, [f"error: {target.reason}"])
        return 2
    forked = asyncio.run(_fork_all(cycles, shadow, _client(model, mode), target, mode))
    lines = [
        f"fork of {anima} with {model} (mode {mode}, credential {name or 'none'}): {len(forked)} cycle(s)"
    ]
    lines += [line for f in forked for line in _render(f)]
    lines += [f"cycle {cycle_id}: not forked: {reason}" for cycle_id, reason in skipped]
    differ = sum(not f.record["reply_same"] for f in forked)
    failed = sum(f.error is not None for f in forked)
    lines.append(
        f"{len(forked)} cycle(s) forked in {time.monotonic() - began:.1f} s: {differ} replies differ, "
        f"{len(forked) - differ} same, {failed} failed; shadow: {shadow}"
    )
    finish(shadow, lines)
    return 1 if failed else 0
