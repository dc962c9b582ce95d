"""Token budgets: how much priming a message type gets, and each channel's share (seed 004).

Budgets are in *tokens* counted by a real tokenizer (a :class:`TokenCounter`), never chars/4:
Japanese text has about one token per character, English about one per four (DESIGN §8).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from animas_core.config_model import PrimingConfig
from animas_priming.domain.message_types import MessageType

CHANNELS = ("A", "B", "C", "D", "E", "F")
"""Sender profile, recent activity, related knowledge, skill match, pending tasks, episodes."""

BASE_TOTAL = 2000
"""The total the base budgets are written for; a channel scales by ``total / BASE_TOTAL``."""

BASE_BUDGETS: dict[str, int] = {"A": 500, "B": 1300, "C": 1500, "D": 200, "E": 500, "F": 800}
"""Seed 004's base token budget of each channel (constants.py, before scaling)."""

IMPORTANT_BASE = 500
"""The part of C's 1500 reserved for ``[IMPORTANT]`` knowledge (the rest, 1000, is related search)."""

IMPORTANT_KEY = "C_important"
"""Key of the ``[IMPORTANT]`` share in :func:`channel_budgets` (a part of ``C``, not an addition)."""


class TokenCounter(Protocol):
    """Counts and cuts text in the tokens of the model the prompt is for."""

    def count(self, text: str) -> int:
        """Number of tokens in ``text``."""
        ...

    def truncate(self, text: str, tokens: int) -> str:
        """The longest prefix of ``text`` that is at most ``tokens`` tokens."""
        ...


def total_budget(message_type: MessageType, priming: PrimingConfig, context_window: int) -> int:
    """The whole priming budget for one cycle.

    Args:
        message_type: What started the cycle (see :func:`~.message_types.classify`).
        priming: The ``priming`` config section.
        context_window: The model's context window in tokens (scales the heartbeat budget).

    Returns:
        ``priming.heartbeat_budget(context_window)`` for heartbeats, whatever ``dynamic_budget``
        says (a heartbeat has no text to size by). Otherwise ``budget_greeting``,
        ``budget_question`` or ``budget_request``; with ``dynamic_budget`` off, every
        non-heartbeat message gets ``budget_request``, the budget that never under-primes.
    """
    if message_type is MessageType.HEARTBEAT:
        return priming.heartbeat_budget(context_window)
    if not priming.dynamic_budget:
        return priming.budget_request
    by_type = {
        MessageType.GREETING: priming.budget_greeting,
        MessageType.QUESTION: priming.budget_question,
        MessageType.REQUEST: priming.budget_request,
    }
    return by_type[message_type]


def _scaled(base: int, total: int) -> int:
    # Integer arithmetic, rounded down: shares never add up to more than the scaled base.
    return base * total // BASE_TOTAL


def channel_budgets(total: int) -> dict[str, int]:
    """Each channel's token ceiling for a total budget.

    Every base budget scales uniformly by ``total / 2000`` (seed 004: ``budget_ratio``). The
    ceilings add up to 2.4 × ``total`` on purpose: most channels come back far from full (no
    pending tasks, no matching skill), so each may use its share while the caller keeps the
    assembled prompt within ``total`` (with :func:`fit`).

    Args:
        total: The budget from :func:`total_budget`.

    Returns:
        ``{"A": …, …, "F": …}`` plus :data:`IMPORTANT_KEY`, the part of ``C`` reserved for
        ``[IMPORTANT]`` knowledge (:func:`important_budget`).

    Raises:
        ValueError: ``total`` is negative.
    """
    if total < 0:
        raise ValueError(f"a token budget cannot be negative: {total}")
    budgets = {channel: _scaled(BASE_BUDGETS[channel], total) for channel in CHANNELS}
    budgets[IMPORTANT_KEY] = important_budget(total)
    return budgets


def important_budget(total: int) -> int:
    """The share of channel C kept for ``[IMPORTANT]`` knowledge (500 of C's 1500 at 2000).

    Args:
        total: The budget from :func:`total_budget`.

    Returns:
        Tokens for ``[IMPORTANT]`` items; related-knowledge search gets ``C`` minus this.
    """
    if total < 0:
        raise ValueError(f"a token budget cannot be negative: {total}")
    return _scaled(IMPORTANT_BASE, total)


def fit(items: Sequence[str], budget: int, counter: TokenCounter) -> tuple[list[str], int]:
    """Keep the leading items that fit in ``budget`` tokens, in order.

    Items are ranked best first, so the first item that does not fit ends the list: skipping it
    for a smaller, worse one would prime a less relevant memory in its place. Only the very first
    item is ever cut (to ``budget``), so that a single long memory still leaves a trace.
    Separators the caller puts between items are its own to count.

    Args:
        items: Lines or paragraphs, best first.
        budget: Tokens available.
        counter: The tokenizer of the target model.

    Returns:
        The kept items (the first possibly truncated) and the tokens they use (≤ ``budget``).
    """
    kept: list[str] = []
    used = 0
    for item in items:
        tokens = counter.count(item)
        if used + tokens <= budget:
            kept.append(item)
            used += tokens
            continue
        if not kept and budget > 0:
            cut = counter.truncate(item, budget)
            cut_tokens = counter.count(cut)
            if cut and cut_tokens <= budget:
                kept.append(cut)
                used = cut_tokens
        break
    return kept, used


class CountCache:
    """A :class:`TokenCounter` that counts each distinct text once (for the life of one prime).

    Channels meet the same lines (a memory in two searches, a line kept and then its section
    totalled); a real tokenizer costs tens of microseconds per line, so a prime counts each once.
    """

    def __init__(self, counter: TokenCounter) -> None:
        self._counter = counter
        self._counts: dict[str, int] = {}

    def count(self, text: str) -> int:
        """Tokens in ``text``, from the cache when it was counted before."""
        tokens = self._counts.get(text)
        if tokens is None:
            tokens = self._counts[text] = self._counter.count(text)
        return tokens

    def truncate(self, text: str, tokens: int) -> str:
        """As the wrapped counter cuts it."""
        return self._counter.truncate(text, tokens)
