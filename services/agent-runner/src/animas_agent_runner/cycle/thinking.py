"""The think-and-act step, shared by a live cycle and its offline replay: one recipe, one mode."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from animas_agent_runner.cycle.recipe import CycleRecipe
from animas_agent_runner.modes.agent_sdk import CallIds, run_agent_sdk
from animas_agent_runner.modes.assisted import run_assisted, run_plain
from animas_agent_runner.modes.calls import ModelChain
from animas_agent_runner.modes.tool_loop import Chaining, ModeOutcome, run_tool_loop
from animas_agent_runner.ports import AssistantTurn, ToolRunner


async def think(
    chain: ModelChain,
    recipe: CycleRecipe,
    *,
    system: str,
    tools: ToolRunner,
    loop_tools: ToolRunner | None = None,
    chaining: Chaining | None = None,
    cwd: Path | None = None,
) -> ModeOutcome:
    """Run the recipe's execution mode: plain (tiny model), assisted, the Agent SDK, or the tool loop.

    ``loop_tools`` is what the tool loop calls (the same tools, with their calls marked in the
    stream); assisted mode's framework-made calls are not the model's, so they are not shown.
    ``cwd`` is the anima's workspace, where the Agent SDK's CLI runs.
    """
    plan = recipe.plan
    history = recipe.history
    if plan.tiny:
        return await run_plain(
            chain, system=system, user_text=recipe.user_text, max_tokens=plan.max_tokens, history=history
        )
    if plan.mode == "assisted":
        return await run_assisted(
            chain,
            system=system,
            user_text=recipe.user_text,
            tools=tools,
            max_tokens=plan.max_tokens,
            history=history,
        )
    if plan.mode == "agent_sdk":
        return await _through_agent_sdk(chain, recipe, system=system, tools=loop_tools or tools, cwd=cwd)
    return await run_tool_loop(
        chain,
        system=system,
        user_text=recipe.user_text,
        tools=loop_tools or tools,
        max_turns=plan.max_turns,
        max_tokens=plan.max_tokens,
        history=history,
        chaining=chaining,
    )


async def _through_agent_sdk(
    chain: ModelChain, recipe: CycleRecipe, *, system: str, tools: ToolRunner, cwd: Path | None
) -> ModeOutcome:
    """Mode ``agent_sdk``: the CLI calls the model through a proxy that records each call."""
    # Here, not at the top: aiohttp's import (~0.2 s) is not paid by systems without the mode.
    from animas_agent_runner.adapters.recording_proxy import RecordingProxy

    # The primary model only: a fallback the CLI switched to would be recorded under the wrong name.
    primary = chain.targets[0]
    earlier = [f"{'You' if isinstance(t, AssistantTurn) else 'They'}: {t.text}" for t in recipe.history]
    user_text = recipe.user_text
    if earlier:
        user_text = "Earlier in this conversation:\n" + "\n".join(earlier) + "\n\nNow:\n" + user_text
    ids = CallIds()
    async with RecordingProxy(primary, chain.recorder, on_tool_calls=ids.expect) as proxy:
        outcome = await run_agent_sdk(
            system=system,
            user_text=user_text,
            tools=tools,
            model=primary.model,
            fallback=None,
            base_url=proxy.url,
            api_key=proxy.token,
            max_turns=recipe.plan.max_turns,
            max_tokens=recipe.plan.max_tokens,
            cwd=cwd,
            ids=ids,
        )
    return dataclasses.replace(outcome, turns=proxy.calls)
