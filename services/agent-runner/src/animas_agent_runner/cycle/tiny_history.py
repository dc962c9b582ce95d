"""The last few turns of a conversation, for a tiny local model (issue #15 item 7).

A 135M model cannot use the full history machinery well: a summary written by the model itself is
unreliable, and every extra token costs time on a CPU. It does answer "what is my favourite
colour?" when "my favourite colour is teal" is one of the turns right before the question. So a
tiny model gets the newest turns of the message's thread, verbatim, within a small token budget,
and nothing older: no summary, no compaction, no model call.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from animas_agent_runner.cycle.conversation import ConversationUnreadable, decode_conversation, history_for
from animas_agent_runner.ports import AssistantTurn, MemoryReader, UserTurn
from animas_agent_runner.prompt.tokens import count_tokens
from animas_contracts import ConversationTurn, MessageReceived, TurnRole, conversation_path

_log = logging.getLogger(__name__)

TINY_HISTORY_TURNS = 6
"""At most this many earlier turns (three exchanges): what was just said, not the whole thread."""
TINY_HISTORY_TOKENS = 300
"""Tokens those turns may use together, about as much as the memories in the tiny system prompt."""


def recent_turns(
    turns: Sequence[ConversationTurn],
    *,
    max_turns: int = TINY_HISTORY_TURNS,
    max_tokens: int = TINY_HISTORY_TOKENS,
) -> tuple[UserTurn | AssistantTurn, ...]:
    """The newest ``turns`` that fit both limits, oldest first, as model turns starting with a user's.

    The peer's words go in as they were said (no ``[peer]`` frame: the tiny prompt's current message
    has none either); consecutive turns of one role are joined so that roles alternate.
    """
    kept: list[ConversationTurn] = []
    used = 0
    for turn in reversed(turns):
        cost = count_tokens(turn.text) + 4
        if len(kept) == max_turns or used + cost > max_tokens:
            break
        kept.append(turn)
        used += cost
    kept.reverse()
    while kept and kept[0].role is not TurnRole.USER:
        kept.pop(0)  # a reply without the message it answered reads as the model talking to itself
    items: list[UserTurn | AssistantTurn] = []
    for turn in kept:
        said_by_peer = turn.role is TurnRole.USER
        last = items[-1] if items else None
        if said_by_peer and isinstance(last, UserTurn):
            items[-1] = UserTurn(f"{last.text}\n\n{turn.text}")
        elif not said_by_peer and isinstance(last, AssistantTurn):
            items[-1] = AssistantTurn(f"{last.text}\n\n{turn.text}")
        else:
            items.append(UserTurn(turn.text) if said_by_peer else AssistantTurn(turn.text))
    return tuple(items)


async def tiny_history(memory: MemoryReader, event: MessageReceived) -> tuple[UserTurn | AssistantTurn, ...]:
    """The recent turns of ``event``'s thread with its sender, before ``event`` itself."""
    text = await memory.read(event.anima, conversation_path(event.sender))
    try:
        conversation = decode_conversation(text, event.sender)
    except ConversationUnreadable as exc:
        _log.warning("conversation unreadable; answering without it", extra={"error": str(exc)})
        return ()
    return recent_turns(history_for(conversation, event.id, event.thread_id))
