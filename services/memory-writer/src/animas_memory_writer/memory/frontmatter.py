"""YAML frontmatter for memory files: a deterministic ``key: value`` subset, sorted keys.

Memory files carry a small header of scalar fields (created, updated, version, confidence…).
A full YAML library is not needed for that, and a hand-rolled subset keeps output byte-stable,
which rebuilding from the stream relies on.
"""

from __future__ import annotations

FENCE = "---"


def split(text: str | None) -> tuple[dict[str, str], str]:
    """Split a file into its frontmatter fields and its body (no frontmatter: empty dict)."""
    if not text:
        return {}, ""
    lines = text.split("\n")
    if lines[0].strip() != FENCE:
        return {}, text
    for end in range(1, len(lines)):
        if lines[end].strip() == FENCE:
            fields: dict[str, str] = {}
            for line in lines[1:end]:
                key, sep, value = line.partition(":")
                if sep and key.strip():
                    fields[key.strip()] = _unquote(value.strip())
            return fields, "\n".join(lines[end + 1 :]).lstrip("\n")
    return {}, text


def render(fields: dict[str, str], body: str) -> str:
    """A file with ``fields`` as frontmatter (sorted) and ``body`` after one blank line."""
    header = "".join(f"{key}: {_quote(fields[key])}\n" for key in sorted(fields))
    return f"{FENCE}\n{header}{FENCE}\n\n{body.strip(chr(10))}\n"


def _quote(value: str) -> str:
    flat = " ".join(str(value).split())
    needs = not flat or flat[0] in "\"'[{>|*&!%@`#" or ": " in flat or flat.endswith(":")
    return '"' + flat.replace("\\", "\\\\").replace('"', '\\"') + '"' if needs else flat


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return value
