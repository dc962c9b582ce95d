"""The tool-use loop of the ``anthropic`` and ``litellm`` modes: the model drives, tools answer.

A long task can fill the model's context. Past ``context_threshold`` the loop saves what the
session has done (seed 003 §4.9, short-term memory) and continues in a fresh session that starts
from the saved state, at most ``max_chains`` times; what was already said to the user stays said.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Awaitable, Callable

from animas_agent_runner.modes.calls import ModelChain
from animas_agent_runner.ports import (
    AssistantTurn,
    ConversationItem,
    ToolResult,
    ToolRunner,
    TurnRequest,
    TurnResult,
    UserTurn,
)
from animas_agent_runner.prompt.tokens import count_tokens

STATE_RESULT_CHARS = 300
"""How much of each tool result the saved state keeps: enough to know what was found."""


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
    chains: int = 0
    """How many times the cycle continued in a new session (seed 003 §4.9)."""


@dataclasses.dataclass(frozen=True)
class SessionState:
    """What a session hands to the next one when its context is full."""

    chain: int
    """Which continuation this state starts, from 1."""
    prompt_tokens: int
    threshold_tokens: int
    text: str
    """The state as the next session reads it (Markdown)."""


@dataclasses.dataclass(frozen=True)
class Chaining:
    """When to continue in a new session, and how to save the state first."""

    threshold_tokens: int
    """``context_threshold`` × the model's context window."""
    max_chains: int
    save: Callable[[SessionState], Awaitable[None]]
    """Records the state (an event and a short-term memory file) before the next session starts."""


def session_tokens(system: str, conversation: list[ConversationItem], result: TurnResult) -> int:
    """The session's size after a call: the provider's count, or ours when it reports none."""
    reported = result.prompt_tokens + result.completion_tokens
    if result.prompt_tokens > 0:
        return reported
    texts = [system, result.text]
    for item in conversation:
        texts.append(item.content if isinstance(item, ToolResult) else item.text)
    return sum(count_tokens(text) for text in texts)


def saved_state(user_text: str, done: list[ToolResult], said: list[str]) -> str:
    """The deterministic state of a session: the task, the tools used and what they gave, what was said."""
    lines = ["## Task", "", user_text, "", "## Done so far", ""]
    for item in done:
        outcome = "error" if item.is_error else "result"
        content = " ".join(item.content.split())
        if len(content) > STATE_RESULT_CHARS:
            content = content[:STATE_RESULT_CHARS] + "…"
        lines.append(f"- {item.name} → {outcome}: {content}")
    if not done:
        lines.append("- (no tools used yet)")
    lines += ["", "## Already said to the user", ""]
    lines += said or ["(nothing yet)"]
    return "\n".join(lines)


def continuation(state: str) -> str:
    """The first message of a continued session."""
    return (
        "Your previous session ran out of room, so you continue from its saved state below. "
        "The user has already received what is under 'Already said to the user': do not repeat "
        "it; carry on with the task and say only what is new.\n\n" + state
    )


async def run_tool_loop(
    chain: ModelChain,
    *,
    system: str,
    user_text: str,
    tools: ToolRunner,
    max_turns: int,
    max_tokens: int,
    history: tuple[ConversationItem, ...] = (),
    chaining: Chaining | None = None,
) -> ModeOutcome:
    """Call the model, run the tools it asks for, and repeat until it answers or runs out of turns.

    ``history`` (earlier turns with the same peer) precedes the message. The reply is the text
    of the last turn; when that is empty (a model that spoke before its final tool call and then
    stopped), the texts said along the way, in every session of a chained cycle, stand in for it.
    """
    conversation: list[ConversationItem] = [*history, UserTurn(user_text)]
    said_before: list[str] = []
    done: list[ToolResult] = []
    spoken: list[str] = []
    calls = 0
    chains = 0
    for turn in range(1, max_turns + 1):
        request = TurnRequest(
            system=system, conversation=tuple(conversation), tools=tools.specs(), max_tokens=max_tokens
        )
        result = await chain.turn(request)
        if result.text.strip():
            spoken.append(result.text.strip())
        if not result.tool_calls:
            return ModeOutcome(
                reply=result.text.strip() or "\n\n".join([*said_before, *spoken]),
                model=result.model,
                turns=turn,
                tool_calls=calls,
                stop=StopReason.DONE,
                chains=chains,
            )
        conversation.append(AssistantTurn(text=result.text, tool_calls=result.tool_calls))
        for call in result.tool_calls:
            answer = await tools.run(call)
            conversation.append(answer)
            done.append(answer)
            calls += 1
        if chaining is not None and chains < chaining.max_chains:
            used = session_tokens(system, conversation, result)
            if used > chaining.threshold_tokens:
                chains += 1
                said_before += spoken
                spoken = []
                state = saved_state(user_text, done, said_before)
                await chaining.save(SessionState(chains, used, chaining.threshold_tokens, state))
                conversation = [UserTurn(continuation(state))]
    return ModeOutcome(
        reply="\n\n".join([*said_before, *spoken]),
        model=chain.model_name,
        turns=max_turns,
        tool_calls=calls,
        stop=StopReason.MAX_TURNS,
        chains=chains,
    )
