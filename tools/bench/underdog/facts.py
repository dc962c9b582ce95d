"""The questions: made-up facts of one small company that no model could know, each with look-alikes.

The facts are written by hand in ``facts.json`` beside this module. Every fact lives in the anima's
memory once, either as a knowledge section or as an episode entry (seed 003 §4.5/§4.6). Its
*confusers* are sentences about a neighbouring subject with a value of the same shape (the guest
wifi next to the office wifi, the staging server next to the backup server); they go into other
files among the generated distractors, so priming has to pick the right memory and the model has to
read the right line.
"""

from __future__ import annotations

from pathlib import Path

import msgspec

FACTS_FILE = Path(__file__).with_name("facts.json")


class Fact(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One question, where its answer is remembered, and what may be mistaken for it."""

    key: str
    question: str
    answers: tuple[str, ...]
    """Any of these in the reply (case-insensitive) counts as the right fact."""
    topic: str
    """Knowledge file stem (``knowledge/<topic>.md``), or ``episodes`` for an episode entry."""
    heading: str
    text: str
    """The knowledge section's bullet, or the episode entry's ``Result``."""
    confusers: tuple[str, ...]
    decision: str = ""
    """Episode entries only: the ``Decision`` field (the ``Result`` holds the fact)."""

    @property
    def is_episode(self) -> bool:
        """Whether the fact is remembered as an episode entry rather than knowledge."""
        return self.topic == "episodes"


def load_facts(path: Path = FACTS_FILE) -> tuple[Fact, ...]:
    """The facts in file order, checked: unique keys, and each fact's text holds one of its answers."""
    facts = msgspec.json.decode(path.read_bytes(), type=tuple[Fact, ...])
    keys = [fact.key for fact in facts]
    if len(set(keys)) != len(keys):
        raise ValueError(f"{path}: duplicate fact keys")
    for fact in facts:
        if not any(answer.casefold() in fact.text.casefold() for answer in fact.answers):
            raise ValueError(f"{path}: the text of {fact.key!r} holds none of its answers")
        for confuser in fact.confusers:
            if is_correct(confuser, fact.answers):
                raise ValueError(f"{path}: a confuser of {fact.key!r} holds its answer")
    return facts


def is_correct(reply: str, answers: tuple[str, ...]) -> bool:
    """Whether ``reply`` holds any acceptable answer, ignoring case."""
    folded = reply.casefold()
    return any(answer.casefold() in folded for answer in answers)
