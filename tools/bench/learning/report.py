"""The learning section of ``docs/benchmarks.md``: errors per week with and without consolidation."""

from __future__ import annotations

import re
from collections.abc import Sequence

from animas_agent_runner.prompt.tiny import TINY_PROMPT_BUDGET
from animas_tools.bench_report import machine

from .routine import Task
from .run import CONSOLIDATED, CONTROL, Answer, LearningRun

HEADING = "## The underdog grows: learning over simulated weeks"


def _cell(text: str) -> str:
    flat = " ".join(text.split()).replace("|", "\\|")
    return flat if len(flat) <= 80 else flat[:77] + "…"


def _mark(answer: Answer) -> str:
    reached = {True: "lesson in prompt", False: "lesson not in prompt", None: "prompt not recorded"}
    return f"{'✓' if answer.correct else '✗'} ({reached[answer.lesson_in_prompt]})"


def _reached(run: LearningRun, anima: str, week: int) -> int:
    return sum(bool(a.lesson_in_prompt) for a in run.answers if a.anima == anima and a.week == week)


def _consolidation_rows(outputs: Sequence[str]) -> list[str]:
    rows = []
    for week, begin in enumerate(range(0, len(outputs), 2), start=1):
        said = []
        for text in outputs[begin : begin + 2]:
            lines = text.splitlines()
            counts = next((x.strip() for x in lines if re.match(r"\s+created \d", x)), "no counts")
            status = lines[1].rsplit(":", 1)[-1].strip() if len(lines) > 1 else "?"
            said.append(f"{status}, {counts}")
        rows.append(f"- week {week}: " + "; ".join(f"`{x}`" for x in said))
    return rows


def _reading(run: LearningRun) -> list[str]:
    """What the prompt counts say about why, stated only when the counts show it."""
    later = [a for a in run.answers if a.week >= 2]
    if not later:
        return []
    if any(a.other_lines for a in later) or not any(a.activity_lines for a in later):
        return _unused_lessons(later)
    return [
        "",
        "**Reading.** No prompt recalled a single line from knowledge or episodes: agent-runner hands"
        " the tiny prompt priming's sections in channel order, recent activity first, and the"
        f" {TINY_PROMPT_BUDGET}-token budget was full before the related-knowledge channel, so the"
        " lessons consolidation wrote never reached the model. Where a lesson was in a prompt it came"
        " from recent activity (the correction, or the anima's own earlier reply), in both animas alike.",
    ]


def _recalled(run: LearningRun, anima: str) -> str:
    later = [a for a in run.answers if a.anima == anima and a.week >= 2]
    activity, other = sum(a.activity_lines for a in later), sum(a.other_lines for a in later)
    return f"{activity} recent-activity lines and {other} others over {len(later)} prompts"


def render(run: LearningRun, tasks: Sequence[Task], commands: Sequence[str], load: str) -> str:
    """The section's Markdown, every number taken from ``run``."""
    per_week = len(tasks)
    lines = [
        HEADING,
        "",
        f"Measured {run.start_day} on {machine()}; load average {load} at the start"
        f" (the machine was shared; the numbers are error counts, not times). Wall time {run.seconds:.0f} s."
        f" Command: `{' / '.join(commands)}` (`just bench-learning`).",
        "",
        "**Method.** `anima up` in a temporary home with the bundled local model (SmolLM2-135M-Instruct"
        " through the `local-llm` service, the product's capped replies) and the scheduler paused, so"
        " nothing runs between the benchmark's steps. Two animas from the `general` template,"
        f" `{CONSOLIDATED}` and `{CONTROL}`, get the same routine of {per_week} questions once per"
        " simulated week, each question in a thread of its own from that week's colleague (the"
        " conversation history never holds the answer). In week 1 a person answers each reply with a"
        " correction stated as a rule:",
        "",
        *[f'- `{t.key}`: "{t.question}" → "{t.correction}"' for t in tasks],
        "",
        f"After each round `{CONSOLIDATED}` gets `anima consolidate {CONSOLIDATED}` (the round's day) and"
        f" `anima consolidate {CONSOLIDATED} --weekly --date D` with D moved 7 days per week (the"
        f" consolidation clock is simulated; the chats happen on the real day); `{CONTROL}` gets no"
        " consolidation. An answer is right when it contains the answer the rule implies (`INV-` and that"
        " week's order number, a new one each week; `Warehouse 7`; `Okada`; `Seino`), compared without case"
        " or spaces. Whether the lesson reached the model's prompt is read from the recorded `llm.called`"
        " request of each answer. Consolidation decided with the deterministic fallback: the bundled model is"
        " too small to be asked for decisions (issue #13).",
        "",
        "| Week | Errors with consolidation | Lesson in prompt | Errors without consolidation"
        " | Lesson in prompt |",
        "|---:|---:|---:|---:|---:|",
    ]
    for week in range(1, run.weeks + 1):
        lines.append(
            f"| {week}{' (before the correction)' if week == 1 else ''}"
            f" | {run.errors(CONSOLIDATED, week)}/{run.asked(CONSOLIDATED, week)}"
            f" | {_reached(run, CONSOLIDATED, week)}/{run.asked(CONSOLIDATED, week)}"
            f" | {run.errors(CONTROL, week)}/{run.asked(CONTROL, week)}"
            f" | {_reached(run, CONTROL, week)}/{run.asked(CONTROL, week)} |"
        )
    later = range(2, run.weeks + 1)
    with_errors = sum(run.errors(CONSOLIDATED, w) for w in later)
    without_errors = sum(run.errors(CONTROL, w) for w in later)
    asked = sum(run.asked(CONSOLIDATED, w) for w in later)
    lines += [
        "",
        f"Weeks 2–{run.weeks}: **{with_errors}/{asked} errors with consolidation,"
        f" {without_errors}/{asked} without.** Lessons `anima search` found in `{CONSOLIDATED}`'s"
        f" knowledge after week 1: {len(run.in_knowledge)}/{per_week}"
        f" ({', '.join(run.in_knowledge) or 'none'}). What the prompts of weeks 2–{run.weeks} recalled"
        f' (lines under "What you remember"): {_recalled(run, CONSOLIDATED)} with consolidation,'
        f" {_recalled(run, CONTROL)} without.",
        *_reading(run),
        "",
        f"Consolidations of `{CONSOLIDATED}`, daily then weekly, each week:",
        "",
        *_consolidation_rows(run.consolidations),
        "",
        "| Week | Task | With consolidation | Reply | Without consolidation | Reply |",
        "|---:|---|---|---|---|---|",
    ]
    by = {(a.week, a.anima, a.task): a for a in run.answers}
    for week in range(1, run.weeks + 1):
        for task in tasks:
            on, off = by[(week, CONSOLIDATED, task.key)], by[(week, CONTROL, task.key)]
            on_cells = f"{_mark(on)} | {_cell(on.reply)}"
            lines.append(f"| {week} | {task.key} | {on_cells} | {_mark(off)} | {_cell(off.reply)} |")
    return "\n".join(lines) + "\n"


def _unused_lessons(later: list[Answer]) -> list[str]:
    """Said when the lessons reached the model but its answers did not get better."""
    later = [a for a in later if a.anima == CONSOLIDATED]
    delivered = [a for a in later if a.lesson_in_prompt]
    if not delivered or any(a.correct for a in delivered):
        return []
    return [
        "",
        f"**Reading.** The lessons reached the model's prompt in {len(delivered)} of {len(later)} later"
        " answers (consolidated knowledge, recalled by priming), yet none of those answers was right:"
        " the 135M model does not apply a rule stated in its prompt to a new question. Consolidation"
        " delivered what was learned; this model cannot use it. A model that follows instructions is"
        " the way to measure the growth itself.",
    ]
