"""The prompt for a tiny local model (issue #8): short, memories first, no tools, a plain answer.

A model of ~100M parameters follows a few plain sentences and loses the thread in a long prompt,
cannot follow tool schemas and does not reliably write JSON. So this prompt puts what priming
recalled first, then who the anima is in a line or two, then one instruction; the model answers in
plain text and the framework does the memory work around it (assisted mode).

An episode's ``Trigger:`` and ``Decision:`` lines are left out of its memory line: the model copied
"Trigger: Heartbeat" as a codename, and for a cycle of the tiny model the decision is the framework's
boilerplate ("Nothing surfaced from memory on its own"). On the underdog benchmark's development half
(its first 18 questions, docs/benchmarks.md), over two states of priming, SmolLM2-135M answered
31/36 without them and 28/36 with them; who-then-memories-then-instruction answered 29/36 either
way, so the memories stay first (issue #15 item 7).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping

from animas_agent_runner.prompt.tokens import count_tokens

TINY_PROMPT_BUDGET = 400
"""Tokens the whole system prompt may use. Small on purpose: the underdog benchmark
(docs/benchmarks.md) found the 135M model answers better from a few good memories than from many,
and a short prompt also answers in half the time on a CPU."""
IDENTITY_LINES = 2

TINY_CHANNEL_ORDER = ("C", "A", "F", "D", "E", "B")
"""Priming channels in the order a tiny prompt takes them: related knowledge first, then what it
knows about the sender, similar episodes, skills and tasks, recent activity last. The budget is a
few hundred tokens, and the learning benchmark (docs/benchmarks.md) found that in channel order
(A–F) recent activity filled it every time, so consolidated knowledge never reached the model."""


@dataclasses.dataclass(frozen=True)
class TinyPrompt:
    """The system prompt for a tiny model and what went into it."""

    text: str
    tokens: int
    memories_kept: int
    """How many recalled memory lines fit the budget."""


def tiny_recall(sections: Mapping[str, str]) -> str:
    """Priming's sections as one block, in :data:`TINY_CHANNEL_ORDER` (unknown channels last)."""
    order = [c for c in TINY_CHANNEL_ORDER if c in sections]
    order += sorted(c for c in sections if c not in TINY_CHANNEL_ORDER)
    return "\n\n".join(sections[c] for c in order if sections[c])


def _identity(identity: str, anima: str) -> str:
    """The first lines of identity.md's content (headings skipped, list items as sentences)."""
    lines = []
    for line in identity.splitlines():
        text = line.strip().lstrip("-*+ ").strip().strip('"')
        if text and not line.lstrip().startswith(("#", "|", ">")):
            lines.append(text if text.endswith((".", "!", "?")) else text + ".")
    return " ".join(lines[:IDENTITY_LINES])


_SOURCE = re.compile(r"\s*\((?:knowledge|episodes|procedures|skills|shared|activity|state)[^()]*\)\s*$")
_CLOCK = re.compile(r"^\d{1,2}:\d{2}\s+")
_EPISODE_FIELD = re.compile(r"^(trigger|decision|result|lesson):\s*(none)?\s*$", re.IGNORECASE)
_LEFT_OUT_FIELD = re.compile(r"^(trigger|decision):", re.IGNORECASE)
"""An episode's trigger and decision: copied as answers, or boilerplate (see the module's note)."""
_OWN_REPLY = re.compile(r"^(result:\s*replied:|response_sent\b)", re.IGNORECASE)
"""What the anima itself said before (an episode's "Result: Replied: …", recent activity's
``response_sent``): a tiny model copies it as its next answer (the underdog benchmark's three chats
repeated the first reply's self-introduction), while the person's words stay (``Said:``)."""


def _plain(text: str) -> str:
    """A fragment without Markdown emphasis, list marks, clock times or a source suffix."""
    text = _SOURCE.sub("", text.strip()).replace("**", "").replace("__", "")
    text = text.lstrip("-*+ ").strip()
    return _CLOCK.sub("", text)


def _memory_lines(recalled: str) -> list[str]:
    """Each recalled memory as one plain line: "Heading: what it says; more".

    Priming renders a memory as a list item with a bold heading and indented lines, followed by
    where it came from; a tiny model copies whatever it sees, so headings are joined to their
    content and the source, emphasis and clock times are dropped.
    """
    items: list[list[str]] = []
    own_reply = False
    for raw in recalled.splitlines():
        if not raw.strip() or raw.lstrip().startswith("#") or raw.strip() == "---":
            continue
        starts_item = raw.startswith(("- ", "* ")) or not items
        fragment = _plain(raw)
        if starts_item:
            own_reply = bool(_OWN_REPLY.match(fragment))  # an item that is all its own reply
        if not fragment or own_reply or _EPISODE_FIELD.match(fragment) or _OWN_REPLY.match(fragment):
            continue
        if not starts_item and _LEFT_OUT_FIELD.match(fragment):
            continue
        if starts_item:
            items.append([fragment])
        else:
            items[-1].append(fragment)
    lines = []
    for parts in items:
        head, rest = parts[0], parts[1:]
        lines.append(f"{head.rstrip(':')}: {'; '.join(rest)}" if rest else head)
    return lines


def build_tiny_prompt(
    *, anima: str, identity: str, recalled: str, budget: int = TINY_PROMPT_BUDGET
) -> TinyPrompt:
    """Memories first, then a line of identity, then how to answer; cut to ``budget`` tokens."""
    who = _identity(identity, anima)
    # "An AI assistant" keeps a tiny model from claiming to be the human it talks to.
    head = f"You are {anima}, an AI assistant working with a team." + (f" {who}" if who else "")
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
