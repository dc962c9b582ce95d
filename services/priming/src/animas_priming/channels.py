"""The sections priming builds from one search's hits: sender (A), knowledge (C), skills (D), episodes (F).

Each builder is plain computation over hits already found (microseconds), so they run in the
prime's own task, after the one search they share. A section reports the tokens it uses, counted
once per line, so the reply's total needs no second pass of the tokenizer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from animas_contracts import PrimeRequest
from animas_priming.domain.budget import IMPORTANT_KEY, TokenCounter, fit
from animas_priming.domain.privacy import OWN_CLOCK, Viewer, episode_visible
from animas_priming.domain.sections import format_section, memory_line, pointer_lines
from animas_priming.ports import Chunk, Hit, SearchScope

SEARCH_CHANNELS = ("A", IMPORTANT_KEY, "C", "D", "F")
"""The parts of the one search a prime makes (``C_important`` and ``C`` both feed section C)."""


@dataclasses.dataclass(frozen=True)
class Section:
    """One channel's Markdown, its tokens, and the memory files it shows."""

    text: str = ""
    tokens: int = 0
    paths: tuple[str, ...] = ()


def section(
    title: str, lines: Sequence[str], used: int, counter: TokenCounter, paths: Sequence[str] = ()
) -> Section:
    """A titled section of ``lines`` that use ``used`` tokens; empty without lines."""
    text = format_section(title, lines)
    if not text:
        return Section()
    # WordPiece splits on whitespace, so a section's count is its heading's plus its lines'.
    return Section(text, counter.count(f"## {title}") + used, tuple(paths))


def search_scopes(request: PrimeRequest) -> dict[str, SearchScope]:
    """What the prime's one search looks for, by channel (a channel with nothing to ask is absent)."""
    scopes: dict[str, SearchScope] = {}
    sender = request.sender
    if sender and sender != "human" and sender not in OWN_CLOCK:
        scopes["A"] = SearchScope(limit=10, memory_types=("knowledge",), keywords=sender)
    # [IMPORTANT] knowledge is primed whatever the message (seed 004, channel C).
    scopes[IMPORTANT_KEY] = SearchScope(
        limit=20, memory_types=("knowledge",), important_only=True, keywords=request.text or "important"
    )
    if request.text.strip():
        scopes["C"] = SearchScope(limit=20, memory_types=("knowledge",))
        scopes["D"] = SearchScope(limit=10, memory_types=("skills", "procedures"))
        scopes["F"] = SearchScope(limit=20, memory_types=("episodes",))
    return scopes


def memory_lines(
    chunks: Sequence[Chunk], budget: int, counter: TokenCounter
) -> tuple[list[str], int, list[str]]:
    """The memory lines that fit, their tokens, and the paths of the chunks they show."""
    lines, used = fit([memory_line(c) for c in chunks], budget, counter)
    return lines, used, [c.path for c in chunks[: len(lines)]]


def sender_section(hits: Sequence[Hit], sender: str, budget: int, counter: TokenCounter) -> Section:
    """A: what the anima's knowledge says about the sender (notes that name them)."""
    about = [h.chunk for h in hits if sender.lower() in h.chunk.text.lower()]
    lines, used, paths = memory_lines(about, budget, counter)
    return section(f"What I know about {sender}", lines, used, counter, paths)


def knowledge_section(
    important: Sequence[Hit], related: Sequence[Hit], budgets: dict[str, int], counter: TokenCounter
) -> Section:
    """C: ``[IMPORTANT]`` knowledge first and always, then related knowledge in what is left."""
    seen = {h.chunk.chunk_id for h in important}
    first, first_used, first_paths = memory_lines(
        [h.chunk for h in important], budgets.get(IMPORTANT_KEY, budgets["C"] // 3), counter
    )
    others = [h.chunk for h in related if h.chunk.chunk_id not in seen]
    rest, rest_used, rest_paths = memory_lines(others, budgets["C"] - first_used, counter)
    return section(
        "Related knowledge", first + rest, first_used + rest_used, counter, first_paths + rest_paths
    )


def skills_section(ranked: Sequence[Hit], budget: int, counter: TokenCounter) -> Section:
    """D: pointers to the skills and procedures that may apply (one line per file)."""
    chunks = [h.chunk for h in ranked]
    lines, used = fit(pointer_lines(chunks), budget, counter)
    paths = list(dict.fromkeys(c.path for c in chunks))[: len(lines)]
    return section("Skills and procedures that may apply", lines, used, counter, paths)


def episodes_section(ranked: Sequence[Hit], viewer: Viewer, budget: int, counter: TokenCounter) -> Section:
    """F: similar past episodes, less another person's conversations (see ``privacy``)."""
    chunks = [h.chunk for h in ranked if episode_visible(h.chunk.heading, h.chunk.text, viewer)]
    lines, used, paths = memory_lines(chunks, budget, counter)
    return section("Similar past episodes", lines, used, counter, paths)


def tasks_section(text: str | None, budget: int, counter: TokenCounter) -> Section:
    """E: the pending-task list's items."""
    if not text or "Nothing pending." in text:
        return Section()
    lines, used = fit([line for line in text.splitlines() if line.startswith("- ")], budget, counter)
    return section("Pending tasks", lines, used, counter)
