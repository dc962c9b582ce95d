"""Reconsolidation's model call: the failing procedure and its failure notes in, a revision out.

The answer is one JSON object ``{"content": "<the whole revised procedure in Markdown>"}``;
anything else (no JSON, no content, a body without a heading, a body over the size limit) is
unusable and the deterministic revision (the notes as "Known pitfalls") is used instead.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from animas_consolidator.domain.decisions import InvalidAnswer
from animas_consolidator.domain.procedures import Procedure

MAX_REVISION_CHARS = 20_000


def revision_messages(anima: str, procedure: Procedure, notes: Sequence[str]) -> list[dict[str, str]]:
    """The system and user messages asking for one revised procedure."""
    system = (
        f"You revise a procedure (a runbook) of {anima} that failed "
        f"{procedure.failures_since_revision} times since it was last written. "
        "Keep what worked, fix or warn about what the failure notes show, stay short. "
        'Answer with one JSON object only: {"content": "<the whole revised procedure in Markdown, '
        'starting with a # heading>"}.'
    )
    listed = "\n".join(f"- {note}" for note in notes) or "- (no notes were given)"
    user = (
        f"Procedure {procedure.path} (version {procedure.version}, "
        f"{procedure.successes} successes, {procedure.failures} failures):\n\n"
        f"{procedure.body.rstrip()}\n\nFailure notes:\n{listed}\n"
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def parse_revision(text: str) -> str:
    """The revised procedure's Markdown, or :class:`InvalidAnswer` saying why it is unusable."""
    start, end = text.find("{"), text.rfind("}")
    if start == -1 or end <= start:
        raise InvalidAnswer("no JSON object in the answer")
    try:
        answer = json.loads(text[start : end + 1])
    except json.JSONDecodeError as exc:
        raise InvalidAnswer(f"the JSON does not parse: {exc}") from None
    content = answer.get("content") if isinstance(answer, dict) else None
    if not isinstance(content, str) or not content.strip():
        raise InvalidAnswer('"content" must be a non-empty string')
    if not content.lstrip().startswith("#"):
        raise InvalidAnswer("the revised procedure must start with a # heading")
    if len(content) > MAX_REVISION_CHARS:
        raise InvalidAnswer(f"the revised procedure is over {MAX_REVISION_CHARS} characters")
    return content.strip() + "\n"
