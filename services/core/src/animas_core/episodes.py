"""The text of one episode entry.

One definition for the day file memory-writer appends to and for priming's read-your-writes
overlay, so what is recalled before indexing matches what is written.
"""

from __future__ import annotations

from animas_contracts import AppendEpisode

SAID_CHARS = 600
"""Longest message an episode keeps verbatim; a longer one keeps its start and its end."""
_HEAD_CHARS = 420


def one_line(text: str) -> str:
    """``text`` on one line ("-" when empty): a value cannot open a new section of the day file."""
    return " ".join(text.split()) or "-"


def said_gist(text: str, *, limit: int = SAID_CHARS) -> str:
    """A message as an episode keeps it: whole when short, else its start and end in its own words.

    The start usually says what it is about and the end what is asked, so a long message keeps
    both rather than a paraphrase (nothing is made up that the person did not say).
    """
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    tail = limit - _HEAD_CHARS - 3
    return f"{flat[:_HEAD_CHARS].rstrip()} … {flat[-tail:].lstrip()}"


def episode_entry(op: AppendEpisode, clock: str | None) -> str:
    """The entry's Markdown, ending in a newline.

    A ``## HH:MM <title>`` heading (no time when ``clock`` is None), then one line per field.
    """
    stamp = f"{clock} " if clock else ""
    lines = [f"## {stamp}{one_line(op.title)}", f"- Trigger: {one_line(op.trigger)}"]
    if op.said.strip():
        lines.append(f"- Said: {one_line(op.said)}")
    lines += [
        f"- Decision: {one_line(op.decision)}",
        f"- Result: {one_line(op.result)}",
        f"- Lesson: {one_line(op.lesson)}",
    ]
    return "\n".join(lines) + "\n"
