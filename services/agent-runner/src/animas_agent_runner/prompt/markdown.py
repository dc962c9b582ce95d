"""Small text helpers shared by the section renderers."""

from __future__ import annotations

from animas_agent_runner.prompt.tokens import count_tokens

TRIM_NOTE = "_(Shortened to fit the context window; search your memory for the rest.)_"
"""Appended where the budget guard cut a text, so the anima knows there is more to look up."""


def present(text: str | None) -> str | None:
    """``text`` without surrounding whitespace, or None when there is nothing in it."""
    if text is None:
        return None
    stripped = text.strip()
    return stripped or None


def heading(title: str, *parts: str | None) -> str:
    """A ``#`` heading followed by the non-empty parts, separated by blank lines."""
    return "\n\n".join([f"# {title}", *(part for part in parts if part)])


def first_lines(text: str, count: int) -> str:
    """The first ``count`` non-empty lines of ``text``."""
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    return "\n".join(lines[:count])


def keep_leading_lines(text: str, max_tokens: int) -> str:
    """The longest run of leading lines of ``text`` within ``max_tokens`` tokens.

    Priming texts put what matters most first (``[IMPORTANT]`` knowledge, the newest activity),
    so cutting from the end loses the least. Whole lines are kept so no memory is half-quoted.
    """
    if max_tokens <= 0:
        return ""
    kept: list[str] = []
    used = 0
    for line in text.strip().splitlines():
        # One token for the newline is generous for cl100k_base; the caller re-measures anyway.
        cost = count_tokens(line) + 1
        if used + cost > max_tokens:
            break
        kept.append(line)
        used += cost
    return "\n".join(kept).rstrip()


def cell(text: str, max_chars: int | None = None) -> str:
    """``text`` as one Markdown table cell: one line, pipes escaped, optionally shortened."""
    flat = " ".join(text.split())
    if max_chars is not None and len(flat) > max_chars:
        flat = flat[: max_chars - 1].rstrip() + "…"
    return flat.replace("|", "\\|")


def code_list(names: tuple[str, ...]) -> str:
    """Names as a comma-separated list of code spans."""
    return ", ".join(f"`{name}`" for name in names)
