"""The bytes memory-writer writes for a knowledge operation, for a replay's shadow directory.

memory-writer renders a ``knowledge.write`` as its frontmatter (the existing fields, the
operation's over them, ``created`` kept, ``updated`` the request's time; sorted, quoted the same
way) and the body after one blank line. A replay cannot call memory-writer (it runs offline and
services do not import each other), so the rendering is restated here; the end-to-end replay test
compares its output with the file memory-writer wrote, byte for byte, so the two cannot drift
apart unnoticed.
"""

from __future__ import annotations

from datetime import datetime

from animas_consolidator.domain.candidates import split_frontmatter
from animas_contracts import WriteKnowledge

FENCE = "---"


def knowledge_file(existing: str | None, op: WriteKnowledge, at: datetime) -> str:
    """The file memory-writer leaves after applying ``op`` at ``at`` to ``existing``."""
    fields, _ = split_frontmatter(existing) if existing else ({}, "")
    stamp = at.isoformat(timespec="seconds")
    merged = {**fields, **{key: str(value) for key, value in op.frontmatter.items()}}
    merged.setdefault("created", stamp)
    merged["updated"] = stamp
    header = "".join(f"{key}: {_quote(merged[key])}\n" for key in sorted(merged))
    return f"{FENCE}\n{header}{FENCE}\n\n{op.content.strip(chr(10))}\n"


def _quote(value: str) -> str:
    flat = " ".join(str(value).split())
    needs = not flat or flat[0] in "\"'[{>|*&!%@`#" or ": " in flat or flat.endswith(":")
    return '"' + flat.replace("\\", "\\\\").replace('"', '\\"') + '"' if needs else flat
