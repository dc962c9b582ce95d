"""Three chats to the bundled model through the whole system, as a new user with no key has them.

Issue #15's acceptance 5: with no model configured, `anima up` serves the bundled SmolLM2, and its
replies must not loop. The chats run in one thread, so the third ("What is my favourite colour?")
can only be answered from the second ("My favourite colour is teal."): that is the conversation's
recent turns reaching the tiny prompt, not priming (the index may not have the words yet).
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Sequence
from typing import Any, Protocol

from animas_local_llm.degenerate import is_degenerate

ANIMA = "aoi"
SENDER = "human:newcomer"
THREAD = "first-steps"
MESSAGES = ("Hello! Who are you?", "My favourite colour is teal.", "What is my favourite colour?")
RECALL_WORD = "teal"
"""What the last reply should contain."""
ECHO_SPAN_WORDS = 12
"""A reply that shares a run of this many words with an earlier one is an echo, not an answer."""


class ChatSystem(Protocol):
    """The running system as a user reaches it (``tools/bench/learning/system.py``'s ``LocalSystem``)."""

    def chat(self, anima: str, message: str, sender: str, thread_id: str) -> dict[str, Any]:
        """The gateway's answer to one chat message."""
        ...

    def cli(self, *args: str) -> str:
        """Run ``anima ARGS`` against the system."""
        ...


@dataclasses.dataclass(frozen=True)
class Chat:
    """One message and its reply."""

    message: str
    reply: str
    seconds: float
    degenerate: bool
    """The reply loops within itself, or echoes an earlier reply (what a tiny model shown its own
    replies did: the same paragraph three times, one per chat)."""


@dataclasses.dataclass(frozen=True)
class ThreeChats:
    """The chats in order, and how long the system took to start."""

    chats: tuple[Chat, ...]
    up_s: float
    """From `anima up` until the gateway took messages (the model may still be loading)."""

    @property
    def degenerate(self) -> int:
        """Replies that are repetition loops (target 0)."""
        return sum(chat.degenerate for chat in self.chats)

    @property
    def recalled(self) -> bool:
        """Whether the last reply holds what the second message said."""
        return RECALL_WORD in self.chats[-1].reply.casefold()


def _runs(text: str) -> set[tuple[str, ...]]:
    """Every run of :data:`ECHO_SPAN_WORDS` words in ``text`` (case and punctuation ignored)."""
    words = [w.casefold() for w in re.findall(r"\w+", text)]
    return {tuple(words[i : i + ECHO_SPAN_WORDS]) for i in range(len(words) - ECHO_SPAN_WORDS + 1)}


def have_three_chats(
    system: ChatSystem, up_s: float, messages: Sequence[str] = MESSAGES, anima: str = ANIMA
) -> ThreeChats:
    """Create an anima from the general template and send it ``messages`` in one thread."""
    system.cli("create", anima, "--template", "general")
    chats: list[Chat] = []
    for message in messages:
        started = time.perf_counter()
        body = system.chat(anima, message, SENDER, THREAD)
        seconds = time.perf_counter() - started
        reply = str(body.get("reply") or "")
        # The gateway does not say whether the model hit its token cap, so only a loop that came
        # back LOOP_REPEATS times counts (the stricter of the two rules).
        echoes = any(_runs(reply) & _runs(earlier.reply) for earlier in chats)
        chats.append(Chat(message, reply, seconds, is_degenerate(reply) or echoes))
    return ThreeChats(tuple(chats), up_s)
