"""The schedule: a round of the routine each simulated week, two animas, one of them consolidated.

Both animas are created from the same template, run on the same bundled local model and are asked
the same questions in the same order; the only difference is that after each round the
``consolidated`` one gets the daily consolidation of the day and the weekly consolidation of the
simulated week (``anima consolidate NAME`` / ``--weekly --date D``), the ``control`` one none.
In week 1 a person corrects every answer with the rule. Each question goes to a thread of its
own from a colleague of that week, so the conversation history never carries the answer: it can
only come from memory.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable, Sequence
from datetime import date, timedelta

from .routine import Task
from .system import LocalSystem

CONSOLIDATED = "learner"
CONTROL = "control"
SENDERS = ("yamada", "suzuki", "sato", "ito", "kato", "mori")
"""The colleague who asks in week 1, 2, … (a new conversation each week)."""
INDEX_WAIT_S = 120.0
"""How long the benchmark waits for priming to index what a consolidation wrote."""


@dataclasses.dataclass(frozen=True)
class Answer:
    """One scored reply."""

    week: int
    anima: str
    task: str
    question: str
    reply: str
    correct: bool
    seconds: float
    correlation_id: str
    """The chat's id: its model call (``llm.called``) carries it, so the prompt can be checked."""
    lesson_in_prompt: bool | None = None
    """Whether the prompt the model got held the lesson; ``None`` until checked."""
    activity_lines: int = 0
    """Recalled lines of the prompt that were recent-activity entries."""
    other_lines: int = 0
    """Recalled lines of the prompt from anything else (knowledge, episodes …)."""


@dataclasses.dataclass
class LearningRun:
    """Everything the report needs."""

    weeks: int
    start_day: date | None = None
    """The day of the rounds in the anima's zone, as its first daily consolidation names it."""
    answers: list[Answer] = dataclasses.field(default_factory=list)
    consolidations: list[str] = dataclasses.field(default_factory=list)
    """The CLI output of each consolidation, in order."""
    in_knowledge: list[str] = dataclasses.field(default_factory=list)
    """The tasks whose lesson `anima search` found in the consolidated anima's knowledge after week 1."""
    seconds: float = 0.0

    def errors(self, anima: str, week: int) -> int:
        """Wrong answers of ``anima`` in ``week``."""
        return sum(not a.correct for a in self.answers if a.anima == anima and a.week == week)

    def asked(self, anima: str, week: int) -> int:
        """Questions ``anima`` was asked in ``week``."""
        return sum(a.anima == anima and a.week == week for a in self.answers)


def day_of(consolidation_output: str) -> date:
    """The day a consolidation ran for, from the CLI's first line (``… for YYYY-MM-DD: <id>``)."""
    found = re.search(r" for (\d{4}-\d{2}-\d{2})", consolidation_output)
    if found is None:
        raise ValueError(f"no day in the consolidation's output:\n{consolidation_output}")
    return date.fromisoformat(found.group(1))


def _wait_until_found(system: LocalSystem, anima: str, tasks: Sequence[Task]) -> list[str]:
    """Wait until a search finds each task's lesson in knowledge; the keys of those it found.

    Priming indexes what memory-writer applied asynchronously; a lesson still missing after
    :data:`INDEX_WAIT_S` is reported as not learned rather than waited for longer.
    """
    deadline = time.monotonic() + INDEX_WAIT_S
    pattern = re.compile(r"\bknowledge/\S+\.md\b")
    found = []
    for task in tasks:
        while not (hit := pattern.search(system.cli("search", anima, task.correction))):
            if time.monotonic() > deadline:
                break
            time.sleep(2.0)
        if hit:
            found.append(task.key)
    return found


def run_learning(
    system: LocalSystem,
    tasks: Sequence[Task],
    *,
    weeks: int,
    progress: Callable[[str], None] = lambda line: print(line, flush=True),
) -> LearningRun:
    """Create both animas, then ``weeks`` rounds with the consolidations between them."""
    started = time.perf_counter()
    run = LearningRun(weeks=weeks)
    for anima in (CONSOLIDATED, CONTROL):
        system.cli("create", anima, "--template", "general")
    for week in range(1, weeks + 1):
        sender = SENDERS[(week - 1) % len(SENDERS)]
        for task in tasks:
            for anima in (CONSOLIDATED, CONTROL):
                thread = f"week{week}-{task.key}"
                asked = time.perf_counter()
                body = system.chat(anima, task.ask(week), sender, thread)
                reply = str(body.get("reply") or "")
                answer = Answer(
                    week=week,
                    anima=anima,
                    task=task.key,
                    question=task.ask(week),
                    reply=reply,
                    correct=task.correct(reply, week),
                    seconds=time.perf_counter() - asked,
                    correlation_id=str(body.get("correlation_id") or ""),
                )
                run.answers.append(answer)
                progress(f"week {week} {anima:>10} {task.key:>8}: {'right' if answer.correct else 'wrong'}")
                if week == 1:
                    system.chat(anima, task.correction, sender, thread)
        # The round's day (the wall-clock day there: the episodes are dated by it), then the
        # simulated week's end: the benchmark moves the consolidation clock, not the machine's.
        daily = system.cli("consolidate", CONSOLIDATED)
        run.consolidations.append(daily)
        if run.start_day is None:
            run.start_day = day_of(daily)
        week_end = run.start_day + timedelta(days=7 * week)
        run.consolidations.append(
            system.cli("consolidate", CONSOLIDATED, "--weekly", "--date", week_end.isoformat())
        )
        progress(f"week {week}: consolidated {CONSOLIDATED} (daily, weekly --date {week_end.isoformat()})")
        if week == 1:
            run.in_knowledge = _wait_until_found(system, CONSOLIDATED, tasks)
    run.seconds = time.perf_counter() - started
    return run
