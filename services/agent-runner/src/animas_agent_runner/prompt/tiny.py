"""The prompt for a tiny local model (issue #8): short, memories first, no tools, a plain answer.

A model of ~100M parameters follows a few plain sentences and loses the thread in a long prompt,
cannot follow tool schemas and does not reliably write JSON. So this prompt puts what priming
recalled first, then who the anima is in a line or two, then one instruction; the model answers in
plain text and the framework does the memory work around it (assisted mode).
"""

from __future__ import annotations

import dataclasses

from animas_agent_runner.prompt.tokens import count_tokens

TINY_PROMPT_BUDGET = 1_200
"""Tokens the whole system prompt may use: a small share of the model's window leaves room to answer."""
IDENTITY_LINES = 2


@dataclasses.dataclass(frozen=True)
class TinyPrompt:
    """The system prompt for a tiny model and what went into it."""

    text: str
    tokens: int
    memories_kept: int
    """How many recalled memory lines fit the budget."""


def _identity(identity: str, anima: str) -> str:
    """The first lines of prose in identity.md (headings, lists and quotes skipped)."""
    lines = [
        line.strip()
        for line in identity.splitlines()
        if line.strip() and not line.lstrip().startswith(("#", "-", "*", "|", ">"))
    ]
    return " ".join(lines[:IDENTITY_LINES])


def _memory_lines(recalled: str) -> list[str]:
    """Recalled Markdown as plain lines: headings and empty lines dropped, bullets unwrapped."""
    kept = []
    for line in recalled.splitlines():
        text = line.strip()
        if not text or text.startswith("#") or text == "---":
            continue
        kept.append(text.lstrip("-* ").strip())
    return kept


def build_tiny_prompt(
    *, anima: str, identity: str, recalled: str, budget: int = TINY_PROMPT_BUDGET
) -> TinyPrompt:
    """Memories first, then a line of identity, then how to answer; cut to ``budget`` tokens."""
    who = _identity(identity, anima)
    head = f"You are {anima}." + (f" {who}" if who else "")
    instruction = (
        "Answer the message in one or two short sentences. "
        "If a memory above answers it, use that memory's exact words for names, numbers and codes."
    )
    lines = _memory_lines(recalled)
    fixed = count_tokens(head) + count_tokens(instruction) + count_tokens("What you remember:") + 8
    kept: list[str] = []
    used = fixed
    for line in lines:
        cost = count_tokens(line) + 2
        if used + cost > budget:
            break
        kept.append(f"- {line}")
        used += cost
    memory = "What you remember:\n" + "\n".join(kept) + "\n\n" if kept else ""
    text = f"{memory}{head}\n\n{instruction}"
    return TinyPrompt(text=text, tokens=count_tokens(text), memories_kept=len(kept))
