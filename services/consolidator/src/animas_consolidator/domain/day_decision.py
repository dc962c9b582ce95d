"""A daily run's decision, from what it read to its plan: the part a live run and a replay share.

A live run reads the day (episodes, saved sessions, conversations) and the knowledge the day's
lessons may duplicate through memory-writer, and asks the anima's model; all of that is kept as
:class:`DayInputs` in ``consolidation.planned``. ``anima replay consolidate`` decodes the same
inputs, answers with the recorded model text and runs these same functions, so a change to the
prompt, the checks or the planner shows up in the replay and nothing else does.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from animas_consolidator.domain import prompt
from animas_consolidator.domain.candidates import merge_candidates
from animas_consolidator.domain.citations import rejection
from animas_consolidator.domain.contradictions import contradiction_candidates, contradiction_fallback
from animas_consolidator.domain.decisions import Decision, InvalidAnswer, Merge, Supersede, parse_answer
from animas_consolidator.domain.fallback import fallback_decisions
from animas_consolidator.domain.identity_prompt import with_identity
from animas_consolidator.domain.lessons import explicit_lessons
from animas_consolidator.domain.sources import SourceLine, by_ref

INPUTS_VERSION = 1


class UnreadableInputs(ValueError):
    """A recorded inputs payload this build cannot read (another version, or not inputs at all)."""


@dataclasses.dataclass(frozen=True)
class DayInputs:
    """Everything a daily run decided from, apart from the model's answer."""

    anima: str
    day: str
    sources: tuple[SourceLine, ...]
    known: tuple[str, ...]
    """Every knowledge file that existed when the run began."""
    texts: Mapping[str, str]
    """The knowledge files compared with the day's lessons."""
    model: str | None
    """The model asked for decisions; None when there was no capable one."""
    no_model_reason: str | None = None
    extra: Mapping[str, str] = dataclasses.field(default_factory=dict)
    """Knowledge files read after the answer, because a decision merges into or supersedes them."""
    identity: str = ""
    """identity.md as the model was shown it (read only when a model is asked)."""
    identity_limit: int | None = None
    """The most lines of identity.md a revision may change; None: identity was not offered."""

    def to_builtins(self) -> dict[str, Any]:
        """The inputs as JSON-ready values, tagged with their version."""
        return {"version": INPUTS_VERSION, **msgspec.to_builtins(dataclasses.asdict(self))}

    @classmethod
    def from_builtins(cls, data: Any) -> DayInputs:
        """Inputs recorded by :meth:`to_builtins`.

        Raises:
            UnreadableInputs: Not a version-1 inputs object.
        """
        if not isinstance(data, dict) or data.get("version") != INPUTS_VERSION:
            raise UnreadableInputs("the recorded inputs are not version-1 daily inputs")
        fields = {k: v for k, v in data.items() if k != "version"}
        try:
            return msgspec.convert(fields, cls)
        except msgspec.ValidationError as exc:
            raise UnreadableInputs(f"the recorded inputs do not decode: {exc}") from None

    def plan_texts(self) -> dict[str, str]:
        """The knowledge texts the planner builds on."""
        return {**self.texts, **self.extra}


def messages(inputs: DayInputs) -> list[dict[str, str]]:
    """The chat messages that ask the model for the day's decisions."""
    lessons = explicit_lessons(inputs.sources)
    candidates = merge_candidates(lessons, inputs.texts)
    messages = prompt.messages(
        inputs.anima,
        inputs.day,
        inputs.sources,
        lessons,
        candidates,
        inputs.texts,
        inputs.known,
        contradictions=contradiction_candidates(inputs.sources, inputs.texts),
    )
    if inputs.identity_limit is None:
        return messages
    return with_identity(messages, inputs.anima, inputs.identity, inputs.identity_limit)


def answered(text: str) -> tuple[list[Decision] | None, str | None]:
    """The decisions in the model's answer, or None and why the fallback runs instead."""
    try:
        return list(parse_answer(text).decisions), None
    except InvalidAnswer as exc:
        return None, f"the model's answer was not usable: {exc}"


def fallback(inputs: DayInputs) -> list[Decision]:
    """The deterministic decisions: explicit corrections supersede, lessons become knowledge or merge."""
    supersedes, corrected, skips = contradiction_fallback(
        contradiction_candidates(inputs.sources, inputs.texts), inputs.texts
    )
    # A correction that superseded a file is not also kept as a new lesson of its own.
    lessons = [
        lesson
        for lesson in explicit_lessons(inputs.sources)
        if not all(c.ref in corrected for c in lesson.citations)
    ]
    unused = [line for line in inputs.sources if line.ref not in corrected]
    rest = fallback_decisions(lessons, merge_candidates(lessons, inputs.texts), unused)
    return [*supersedes, *rest, *skips]


def checked(inputs: DayInputs, decisions: Sequence[Decision]) -> tuple[list[Decision], list[str]]:
    """The decisions whose citations hold, and why each other one was rejected."""
    lines = by_ref(inputs.sources)
    accepted: list[Decision] = []
    rejections: list[str] = []
    for decision in decisions:
        reason = rejection(decision, lines, inputs.known)
        if reason is None:
            accepted.append(decision)
        else:
            rejections.append(reason)
    return accepted, rejections


def files_to_read(accepted: Sequence[Decision], texts: Mapping[str, str]) -> list[str]:
    """The knowledge files a merge or supersede builds on that were not compared yet."""
    paths = [d.path for d in accepted if isinstance(d, Merge | Supersede) and d.path not in texts]
    return list(dict.fromkeys(paths))
