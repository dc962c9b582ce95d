"""The part of the daily consolidation prompt that lets the model propose a revision of identity.md.

The model sees the anima's identity as it is and the rule it is held to: identity changes only
when the day shows something lasting about who the anima is, cited like every decision; a change
of a few lines is applied, a rewrite waits for a person. The decision schema in the system
message already describes the optional ``identity`` field.
"""

from __future__ import annotations

MAX_IDENTITY_CHARS = 8_000
"""identity.md is shown up to this length (a longer one is cut, and the prompt says so)."""

RULE = """
identity.md says who {anima} is. Leave it alone unless the day shows something lasting about who
{anima} is (not a single task, not a fact about someone else). Then, and only then, add
"identity": the whole new identity.md ("content"), why ("reason") and the source lines it rests
on ("citations", checked like every decision). A change of at most {limit} lines is applied; a
larger rewrite is refused and waits for a person's approval."""


def with_identity(
    messages: list[dict[str, str]], anima: str, identity: str, limit: int
) -> list[dict[str, str]]:
    """``messages`` (system first, user last) with the identity rule and the current identity.md."""
    if len(messages) < 2:
        raise ValueError("the consolidation prompt needs a system and a user message")
    shown = identity[:MAX_IDENTITY_CHARS]
    if len(identity) > MAX_IDENTITY_CHARS:
        shown += f"\n(… {len(identity) - MAX_IDENTITY_CHARS} more characters not shown)"
    system, *middle, user = messages
    return [
        {**system, "content": system["content"] + "\n" + RULE.format(anima=anima, limit=limit)},
        *middle,
        {**user, "content": user["content"] + f"\n\n## identity.md now\n{shown or '(empty)'}"},
    ]
