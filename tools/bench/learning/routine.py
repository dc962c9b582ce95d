"""The routine: four questions an office assistant is asked every week, each corrected once in week 1.

Each task is a question a colleague asks again and again and a correction a person gives after
the first answer, stated as a rule ("… always …") the way people correct an assistant. Nothing
in the anima's template or the model's training can know these answers (a made-up freight
company), so a right answer in a later week can only come from what the anima kept of the
correction. The invoice task is the one the issue names: the answer is not the correction's
words but its format applied to a new order number, different each week.
"""

from __future__ import annotations

import dataclasses
import re

ORDERS = (52817, 30412, 61958, 47203, 28764, 73120)
"""The order number asked about in week 1, 2, … (the correction's example is week 1's)."""


@dataclasses.dataclass(frozen=True)
class Task:
    """One routine question, the correction that teaches its answer, and how an answer is scored."""

    key: str
    question: str
    """The question of week ``week`` (``{order}`` is filled with that week's order number)."""
    correction: str
    expected: str
    """What a right answer contains (``{order}`` filled in), compared without case or spacing."""
    marker: str
    """What shows that the lesson reached a prompt (a piece of the correction no question holds)."""

    def ask(self, week: int) -> str:
        """The question as week ``week`` (1-based) asks it."""
        return self.question.format(order=order_of(week))

    def answer(self, week: int) -> str:
        """What a right answer of week ``week`` must contain."""
        return self.expected.format(order=order_of(week))

    def correct(self, reply: str, week: int) -> bool:
        """Whether ``reply`` gives week ``week``'s answer (a mention anywhere in the reply counts)."""
        return _squeezed(self.answer(week)) in _squeezed(reply)


def order_of(week: int) -> int:
    """Week ``week``'s order number."""
    return ORDERS[(week - 1) % len(ORDERS)]


def _squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text).casefold()


TASKS = (
    Task(
        key="invoice",
        question="What is the invoice number for order {order}?",
        correction=(
            "Wrong. Invoice numbers always have the format INV- followed by the order number:"
            f" the invoice for order {ORDERS[0]} is INV-{ORDERS[0]}."
        ),
        expected="INV-{order}",
        marker="INV-",
    ),
    Task(
        key="kobe",
        question="Which warehouse do the Kobe shipments go to?",
        correction="Wrong. Kobe shipments always go to Warehouse 7.",
        expected="Warehouse 7",
        marker="Warehouse 7",
    ),
    Task(
        key="refunds",
        question="Who signs off on customer refunds?",
        correction="No. Customer refunds are always signed off by Ms. Okada.",
        expected="Okada",
        marker="Okada",
    ),
    Task(
        key="fragile",
        question="Which carrier do we use for fragile goods?",
        correction="No. Fragile goods always go with Seino Express.",
        expected="Seino",
        marker="Seino",
    ),
)
