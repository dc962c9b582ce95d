"""The decisions a consolidation makes, as the schema the model's JSON answer is validated against.

The framework hands the model a decision to make, not an open-ended "tidy up" (DESIGN §8): for
each lesson it may create a knowledge file, merge into an existing one, supersede one, or skip,
and every decision cites the source lines it rests on. The deterministic fallback produces
decisions of the same shape, so both paths are checked and applied the same way.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import msgspec
from msgspec import Meta


class Citation(msgspec.Struct, frozen=True, kw_only=True):
    """A source line a decision rests on, and the words of it that matter."""

    ref: Annotated[str, Meta(description="The source line's reference, exactly as listed.")]
    quote: Annotated[str, Meta(description="Words copied verbatim from that line.")]


class _Decision(msgspec.Struct, frozen=True, kw_only=True, tag_field="action"):
    """Base of the decisions; ``action`` names which."""


class Create(_Decision, frozen=True, kw_only=True, tag="create"):
    """A new knowledge file."""

    title: Annotated[str, Meta(min_length=1, description="A short title for the knowledge file.")]
    content: Annotated[str, Meta(min_length=1, description="The lesson, as the anima should remember it.")]
    citations: list[Citation]


class Merge(_Decision, frozen=True, kw_only=True, tag="merge"):
    """Add to an existing knowledge file (a near-duplicate or the same subject)."""

    path: Annotated[str, Meta(description="The existing knowledge file, e.g. knowledge/clients.md.")]
    content: Annotated[str, Meta(min_length=1, description="What to add to it.")]
    citations: list[Citation]


class Supersede(_Decision, frozen=True, kw_only=True, tag="supersede"):
    """Replace what an existing knowledge file says (the day contradicted it)."""

    path: Annotated[str, Meta(description="The existing knowledge file to rewrite.")]
    content: Annotated[str, Meta(min_length=1, description="Its new content.")]
    reason: str = ""
    citations: list[Citation]


class Skip(_Decision, frozen=True, kw_only=True, tag="skip"):
    """Nothing worth remembering, or already known."""

    reason: Annotated[str, Meta(min_length=1, description="Why nothing is written.")]
    citations: list[Citation] = msgspec.field(default_factory=list)


Decision = Create | Merge | Supersede | Skip


class IdentityRevision(msgspec.Struct, frozen=True, kw_only=True):
    """A revision of identity.md the day's experience calls for (small ones apply, large ones wait)."""

    content: Annotated[str, Meta(min_length=1, description="The whole new identity.md.")]
    reason: Annotated[str, Meta(min_length=1, description="Why who the anima is changed.")]
    citations: list[Citation]


class DecisionAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """The model's whole answer."""

    decisions: list[Decision]
    identity: Annotated[
        IdentityRevision | None,
        Meta(description="Only when the day shows something lasting about who the anima is."),
    ] = None


class InvalidAnswer(ValueError):
    """The model's answer is not JSON of :class:`DecisionAnswer`'s shape."""


def answer_schema() -> dict[str, Any]:
    """The JSON Schema the model is asked to answer with."""
    return msgspec.json.schema(DecisionAnswer)


def parse_answer(text: str) -> DecisionAnswer:
    """The decisions in the model's answer (a Markdown code fence around the JSON is tolerated).

    Raises:
        InvalidAnswer: No JSON object, or one that does not match the schema; the message says what.
    """
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start:
        raise InvalidAnswer(f"the answer holds no JSON object: {text[:200]!r}")
    try:
        return msgspec.json.decode(text[start : end + 1], type=DecisionAnswer)
    except msgspec.ValidationError as exc:
        raise InvalidAnswer(f"the answer does not match the decision schema: {exc}") from None
    except msgspec.DecodeError as exc:
        raise InvalidAnswer(f"the answer is not valid JSON: {exc}") from None


def describe(decision: Decision) -> str:
    """One line naming a decision, for the finished event's reasons."""
    match decision:
        case Create():
            return f"create {json.dumps(decision.title, ensure_ascii=False)}"
        case Merge() | Supersede():
            return f"{decision.__struct_config__.tag} {decision.path}"
        case Skip():
            return "skip"
