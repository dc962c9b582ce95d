"""The tool-use loop of the ``anthropic`` and ``litellm`` modes: the model drives, tools answer."""

from __future__ import annotations

import dataclasses
import enum

from animas_agent_runner.modes.calls import ModelChain
from animas_agent_runner.ports import (
    AssistantTurn,
    ConversationItem,
    ToolRunner,
    TurnRequest,
    UserTurn,
)


class StopReason(enum.StrEnum):
    """Why a mode stopped."""

    DONE = "done"
    """The model answered without asking for a tool."""
    MAX_TURNS = "max_turns"
    """The model still wanted tools after ``max_turns`` model calls."""


@dataclasses.dataclass(frozen=True)
class ModeOutcome:
    """What a mode produced: the reply and how it got there."""

    reply: str
    model: str
    turns: int
    tool_calls: int
    stop: StopReason
    decision: str = ""
    """What the model said it decided (assisted mode's structured reply); empty if it did not say."""
    lesson: str = ""
    """A lesson the model stated (assisted mode); tool modes record lessons through tools."""


async def run_tool_loop(
    chain: ModelChain,
    *,
    system: str,
    user_text: str,
    tools: ToolRunner,
    max_turns: int,
    max_tokens: int,
) -> ModeOutcome:
    """Call the model, run the tools it asks for, and repeat until it answers or runs out of turns.

    The reply is the text of the last turn; when that is empty (a model that spoke before its
    final tool call and then stopped), the texts said along the way stand in for it.
    """
    conversation: list[ConversationItem] = [UserTurn(user_text)]
    spoken: list[str] = []
    calls = 0
    for turn in range(1, max_turns + 1):
        request = TurnRequest(
            system=system, conversation=tuple(conversation), tools=tools.specs(), max_tokens=max_tokens
        )
        result = await chain.turn(request)
        if result.text.strip():
            spoken.append(result.text.strip())
        if not result.tool_calls:
            reply = result.text.strip() or "\n\n".join(spoken)
            return ModeOutcome(
                reply=reply, model=result.model, turns=turn, tool_calls=calls, stop=StopReason.DONE
            )
        conversation.append(AssistantTurn(text=result.text, tool_calls=result.tool_calls))
        for call in result.tool_calls:
            conversation.append(await tools.run(call))
            calls += 1
    return ModeOutcome(
        reply="\n\n".join(spoken),
        model=chain.model_name,
        turns=max_turns,
        tool_calls=calls,
        stop=StopReason.MAX_TURNS,
    )
