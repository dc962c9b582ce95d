"""The think-and-act step, shared by a live cycle and its offline replay: one recipe, one mode."""

from __future__ import annotations

from animas_agent_runner.cycle.recipe import CycleRecipe
from animas_agent_runner.modes.assisted import run_assisted, run_plain
from animas_agent_runner.modes.calls import ModelChain
from animas_agent_runner.modes.tool_loop import Chaining, ModeOutcome, run_tool_loop
from animas_agent_runner.ports import ToolRunner


async def think(
    chain: ModelChain,
    recipe: CycleRecipe,
    *,
    system: str,
    tools: ToolRunner,
    loop_tools: ToolRunner | None = None,
    chaining: Chaining | None = None,
) -> ModeOutcome:
    """Run the recipe's execution mode: plain (tiny model), assisted, or the tool-use loop.

    ``loop_tools`` is what the tool loop calls (the same tools, with their calls marked in the
    stream); assisted mode's framework-made calls are not the model's, so they are not shown.
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
