"""Markdown for the priming part of the system prompt: sections, memory items and pointers.

Content from outside platforms keeps its label all the way into the prompt: an external chunk is
flattened to one line behind ``[external, untrusted]``, so it can neither drop its label nor open
a heading or list of its own that would read like the anima's memory or instructions.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Iterable, Sequence

from animas_priming.ports import Chunk

UNTRUSTED_LABEL = "[external, untrusted]"
"""Prefix of every item whose chunk has ``trust == "external"``."""
MAX_POINTERS = 5
"""Channel D names at most this many skills and procedures (seed 004: ``_MAX_SKILL_MATCHES``)."""


def _one_line(text: str) -> str:
    return " ".join(text.split())


def format_section(title: str, lines: Sequence[str], *, level: int = 2) -> str:
    """A Markdown section: a heading, a blank line and the lines.

    Args:
        title: The heading text (flattened to one line).
        lines: The section body, one item per line (items may span lines).
        level: Heading level (2 → ``##``).

    Returns:
        The section, or "" when there is no non-blank line (an empty section only costs tokens).
    """
    body = [line for line in lines if line.strip()]
    if not body:
        return ""
    return f"{'#' * level} {_one_line(title)}\n\n" + "\n".join(body)


def join_sections(sections: Iterable[str]) -> str:
    """The non-empty sections, separated by a blank line."""
    return "\n\n".join(s for s in sections if s.strip())


def pointer_line(name: str, path: str) -> str:
    """A channel D item: what is there and how to read it in full.

    Args:
        name: The skill's or procedure's name (its heading or file name).
        path: Its path relative to the anima directory.

    Returns:
        ``- <name> → read_memory_file(path="<path>")`` (the path quoted as a JSON string, so a
        quote in a file name cannot end the argument).
    """
    return f"- {_one_line(name)} → read_memory_file(path={json.dumps(path, ensure_ascii=False)})"


def pointer_lines(chunks: Sequence[Chunk], *, limit: int = MAX_POINTERS) -> list[str]:
    """Pointer lines for the best chunks, one per file, in order.

    Args:
        chunks: Skill and procedure chunks, best first.
        limit: Most files named.

    Returns:
        At most ``limit`` lines, named by the first chunk's heading or else the file's name.
    """
    seen: dict[str, Chunk] = {}
    for chunk in chunks:
        if len(seen) >= limit:
            break
        seen.setdefault(chunk.path, chunk)
    return [pointer_line(c.heading or _stem(c.path), c.path) for c in seen.values()]


def _stem(path: str) -> str:
    return posixpath.splitext(posixpath.basename(path))[0]


def memory_line(chunk: Chunk, text: str | None = None) -> str:
    """One memory as a list item, with where it comes from.

    Args:
        chunk: The memory.
        text: The text to show (e.g. already cut to a budget); the chunk's text by default.

    Returns:
        ``- <text> (<path>, <date>)``. The anima's own memory keeps its lines (indented under
        the item, a heading line turned into bold); external memory becomes one line behind
        :data:`UNTRUSTED_LABEL`.
    """
    body = (chunk.text if text is None else text).strip()
    where = f"({chunk.path}{', ' + chunk.date if chunk.date else ''})"
    if chunk.trust == "external":
        return f"- {UNTRUSTED_LABEL} {_one_line(body)} {where}"
    lines = [line.rstrip() for line in body.splitlines() if line.strip()]
    if lines and lines[0].lstrip().startswith("#"):
        lines[0] = f"**{lines[0].lstrip().lstrip('#').strip()}**"
    if not lines:
        return f"- {where}"
    # Indented continuation lines stay inside the list item: a "## " line in a memory cannot
    # become a section of the system prompt.
    return "\n".join([f"- {lines[0]}", *(f"  {line}" for line in lines[1:])]) + f" {where}"


def is_important(chunk: Chunk) -> bool:
    """Whether the chunk holds an ``[IMPORTANT]`` line."""
    return chunk.importance == "important"


def knowledge_lines(chunks: Sequence[Chunk]) -> list[str]:
    """Channel C items: ``[IMPORTANT]`` knowledge first, then the rest, each in its given order.

    Args:
        chunks: Important and related chunks in any mix (a chunk found both ways appears once).

    Returns:
        One :func:`memory_line` per distinct chunk.
    """
    distinct: dict[str, Chunk] = {}
    for chunk in chunks:
        distinct.setdefault(chunk.chunk_id, chunk)
    ordered = sorted(distinct.values(), key=lambda c: not is_important(c))  # stable: order kept
    return [memory_line(c) for c in ordered]
