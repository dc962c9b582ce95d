"""What the peer just said, for a tiny local model (issue #15 item 7).

A 135M model cannot use the full history machinery: a summary written by the model itself is
unreliable, and every extra token costs time on a CPU. Given the thread as alternating turns it
also copies its own previous reply word for word instead of answering (measured through `anima up`:
the second and third replies repeated the first). So a tiny model gets only the peer's last few
statements of the thread, verbatim, within a small token budget, joined into one user message
before the current one. Whether the model then uses them is up to the model: in the layouts tried
(the thread as turns, the statements as memories, as one message) SmolLM2-135M answered "What is
my favourite colour?" with "teal" once in 13 tries.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from animas_agent_runner.cycle.conversation import ConversationUnreadable, decode_conversation, history_for
from animas_agent_runner.ports import MemoryReader
from animas_agent_runner.prompt.tokens import count_tokens
from animas_contracts import ConversationTurn, MessageReceived, TurnRole, conversation_path

_log = logging.getLogger(__name__)

TINY_HISTORY_MESSAGES = 3
"""At most this many of the peer's earlier messages: what was just said, not the whole thread."""
TINY_HISTORY_TOKENS = 300
"""Tokens those messages may use together, about as much as the memories in the tiny system prompt."""


def recent_messages(
    turns: Sequence[ConversationTurn],
    *,
    max_messages: int = TINY_HISTORY_MESSAGES,
    max_tokens: int = TINY_HISTORY_TOKENS,
) -> tuple[str, ...]:
    """The peer's newest messages among ``turns`` that fit both limits, oldest first.

    The anima's own replies are left out: a tiny model shown them repeats them. So are the peer's
    earlier questions: they were answered, and shown again the model answered them again (its
    introduction once per chat after "Who are you?"); statements are what a later question needs.
    """
    kept: list[str] = []
    used = 0
    for turn in reversed(turns):
        if turn.role is not TurnRole.USER or turn.text.rstrip().endswith(("?", "？")):
            continue
        cost = count_tokens(turn.text) + 2
        if len(kept) == max_messages or used + cost > max_tokens:
            break
        kept.append(turn.text)
        used += cost
    return tuple(reversed(kept))


RECENT_LEAD = "Earlier I said:"
"""Said before the peer's earlier messages. Joined bare before the question, the 135M model read
them as part of it and apologised; led in like this it answered from them more often (five short
threads such as teal, a name, a city, each with and without the statement's recalled episode: 7 of
10 led in, 5 of 10 bare)."""


def with_recent(recent: Sequence[str], text: str) -> str:
    """The current message after the earlier ones, as one user message."""
    if not recent:
        return text
    return f"{RECENT_LEAD} {' '.join(r.strip() for r in recent)}\n\n{text}"


async def tiny_history(memory: MemoryReader, event: MessageReceived) -> tuple[str, ...]:
    """The peer's recent messages in ``event``'s thread, before ``event`` itself."""
    text = await memory.read(event.anima, conversation_path(event.sender))
    try:
        conversation = decode_conversation(text, event.sender)
    except ConversationUnreadable as exc:
        _log.warning("conversation unreadable; answering without it", extra={"error": str(exc)})
        return ()
    return recent_messages(history_for(conversation, event.id, event.thread_id))
