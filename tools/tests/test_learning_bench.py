"""The learning benchmark ("the underdog grows"): its scoring, its report, and one run end to end.

The end-to-end run points the system's local-model address at the scripted LLM (the real 135M
model is never loaded) with a model that answers right exactly when the lesson is in its prompt,
so the run's scores and its prompt checks must agree, and the consolidations must have learned
every lesson.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from tools.bench.learning.prompts import check_prompts, lesson_reached, memory_lines
from tools.bench.learning.report import HEADING, render
from tools.bench.learning.routine import TASKS, Task
from tools.bench.learning.run import CONSOLIDATED, CONTROL, Answer, LearningRun, day_of, run_learning
from tools.bench.learning.system import LocalSystem

from animas_tools.scripted_llm import ScriptedLLM, Turn

BY_KEY = {task.key: task for task in TASKS}
DONT_KNOW = "I do not know that."


def test_an_answer_is_right_only_with_that_weeks_answer() -> None:
    invoice, kobe = BY_KEY["invoice"], BY_KEY["kobe"]
    assert invoice.ask(2) == "What is the invoice number for order 30412?"
    assert invoice.correct("It is inv-30412.", 2)
    assert not invoice.correct("It is INV-52817.", 2), "week 1's example copied is wrong in week 2"
    assert not invoice.correct("It is 30412.", 2)
    assert kobe.correct("They go to warehouse  7.", 3)
    assert not kobe.correct("They go to Warehouse 3.", 3)


def test_recalled_lines_are_told_apart() -> None:
    system = (
        "What you remember:\n- message_received yamada: Hi\n- error : memory.archive rejected\n"
        "- Kobe shipments always go to Warehouse 7: Sources\n\nYou are learner."
    )
    assert memory_lines([{"role": "system", "content": system}]) == (2, 1)
    assert memory_lines([{"role": "system", "content": "You are learner."}]) == (0, 0)


def test_the_lesson_reached_the_prompt_only_outside_the_question() -> None:
    invoice = BY_KEY["invoice"]
    question = invoice.ask(2)
    asked = [{"role": "user", "content": question}]
    assert not lesson_reached([{"role": "system", "content": "You are learner."}, *asked], invoice, question)
    primed = {"role": "system", "content": f"Remembered: {invoice.correction}"}
    assert lesson_reached([primed, *asked], invoice, question)
    for task in TASKS:  # no question gives its own marker away
        assert task.marker.casefold() not in task.ask(2).casefold()


def test_the_day_comes_from_the_consolidation_output() -> None:
    out = "asked for the daily consolidation of learner for 2026-12-06: 01a2\n"
    assert day_of(out) == date(2026, 12, 6)
    with pytest.raises(ValueError, match="no day"):
        day_of("something else")


def _answer(week: int, anima: str, task: Task, correct: bool) -> Answer:
    return Answer(week, anima, task.key, task.ask(week), "a | reply", correct, 1.0, "c", correct)


def test_the_report_counts_errors_per_week_and_arm() -> None:
    run = LearningRun(weeks=2, start_day=date(2026, 12, 6), seconds=12.0)
    run.consolidations = [
        "asked for the daily …\ndaily consolidation of learner for 2026-12-06: ok\n"
        "  created 4, merged 0, superseded 0, skipped 1\n"
    ]
    run.in_knowledge = ["kobe", "fragile"]
    for task in TASKS:
        run.answers += [_answer(1, CONSOLIDATED, task, False), _answer(1, CONTROL, task, False)]
        run.answers += [
            _answer(2, CONSOLIDATED, task, task.key != "invoice"),
            _answer(2, CONTROL, task, False),
        ]

    text = render(run, TASKS, ["python tools/bench/learning_bench.py"], "1.00 / 1.00 / 1.00")

    assert text.startswith(HEADING + "\n")
    assert "| 1 (before the correction) | 4/4 | 0/4 | 4/4 | 0/4 |" in text
    assert "| 2 | 1/4 | 3/4 | 4/4 | 0/4 |" in text
    assert "Weeks 2–2: **1/4 errors with consolidation, 4/4 without.**" in text
    assert "- week 1: `ok, created 4, merged 0, superseded 0, skipped 1`" in text
    assert "after week 1: 2/4 (kobe, fragile)" in text
    assert "a \\| reply" in text  # a reply cannot break the table
    assert "**Reading.**" not in text  # no prompt lines were counted: nothing to say why


def test_the_reading_is_given_only_when_no_prompt_recalled_anything_but_activity() -> None:
    run = LearningRun(weeks=2, start_day=date(2026, 12, 6))
    for task in TASKS:
        for anima in (CONSOLIDATED, CONTROL):
            run.answers += [_answer(1, anima, task, False)]
            run.answers += [dataclasses.replace(_answer(2, anima, task, False), activity_lines=9)]
    assert "**Reading.** No prompt recalled" in render(run, TASKS, ["x"], "1")
    run.answers[-1] = dataclasses.replace(run.answers[-1], other_lines=1)
    assert "**Reading.**" not in render(run, TASKS, ["x"], "1")


def _knows_only_what_it_is_told(body: Mapping[str, Any]) -> Turn | None:
    """The right answer when the lesson is in the prompt (not only in the question), else not."""
    messages = body.get("messages") or []
    question = str(messages[-1].get("content", "")) if messages else ""
    for task in TASKS:
        for week in range(1, 7):
            if question == task.ask(week):
                told = lesson_reached(messages, task, question)
                return Turn(text=f"It is {task.answer(week)}." if told else DONT_KNOW)
    return Turn(text="Understood.")


@pytest.fixture
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM() as server:
        yield server


@pytest.mark.e2e
@pytest.mark.nats
@pytest.mark.slow
def test_a_run_against_the_system_scores_checks_prompts_and_consolidates(
    tmp_path: Path, llm: ScriptedLLM
) -> None:
    llm.respond_with(_knows_only_what_it_is_told)
    system = LocalSystem(
        tmp_path / "home",
        tmp_path / "up.log",
        env={"ANIMAWORKS_LOCAL_MODEL": "false", "ANIMAWORKS_LOCAL_MODEL_URL": llm.openai_base},
    )
    system.start()
    try:
        run = run_learning(system, TASKS, weeks=2, progress=lambda line: None)
        check_prompts(system, run, TASKS)
    finally:
        system.stop()

    print(json.dumps([a.__dict__ for a in run.answers], indent=1))
    assert len(run.answers) == 2 * 2 * len(TASKS)
    # Every answer's model call was found by its correlation id and its prompt checked.
    assert all(a.lesson_in_prompt is not None for a in run.answers)
    # This model is right exactly when the lesson reached its prompt: the score and the prompt
    # check read the same run. Before the corrections no prompt can hold a lesson.
    assert all(a.correct == a.lesson_in_prompt for a in run.answers)
    assert run.errors(CONSOLIDATED, 1) == run.errors(CONTROL, 1) == len(TASKS)
    # The consolidations ran (daily, then weekly with the simulated date) and learned every lesson.
    assert run.start_day is not None and len(run.consolidations) == 4
    assert f"for {run.start_day.isoformat()}" in run.consolidations[0]
    assert f"for {(run.start_day + timedelta(days=7)).isoformat()}" in run.consolidations[1]
    assert run.in_knowledge == [task.key for task in TASKS]
