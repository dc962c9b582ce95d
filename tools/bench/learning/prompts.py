"""Did the lesson reach the prompt? Read from the model calls the system recorded (``llm.called``).

Every chat's reply carries its correlation id, and agent-runner records each model call with the
request body it sent (inline when small, as the tiny prompt always is). An answer's prompt holds
the lesson when the task's marker appears in any message but the question itself (the system
prompt with its recalled memories, or history).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Sequence
from typing import Any

from .routine import Task
from .run import Answer, LearningRun
from .system import LocalSystem


def _calls(system: LocalSystem, anima: str) -> dict[str, list[dict[str, Any]]]:
    """The turn calls of ``anima`` by correlation id, each its request's messages."""
    out = system.cli("events", "--anima", anima, "--type", "llm.called", "--json")
    calls: dict[str, list[dict[str, Any]]] = {}
    for line in out.splitlines():
        if not line.strip():
            continue
        event = json.loads(line)
        if event.get("purpose", "turn") != "turn":
            continue
        # A small body is inline; a large one is only referenced by digest (not read here).
        body = (event.get("request") or {}).get("inline")
        if isinstance(body, dict):
            calls.setdefault(str(event.get("correlation_id")), []).extend(body.get("messages") or [])
    return calls


_ACTIVITY_LINE = re.compile(r"^- (?:[a-z]+_[a-z_]+ |error :)")
"""A memory line that is a recent-activity entry (``- message_received yamada: …``)."""


def memory_lines(messages: Sequence[dict[str, Any]]) -> tuple[int, int]:
    """How many "What you remember" lines the system prompt held: recent activity, and the rest."""
    system = next((str(m.get("content", "")) for m in messages if m.get("role") == "system"), "")
    block = system.split("\n\n", 1)[0] if system.startswith("What you remember:") else ""
    lines = [line for line in block.splitlines()[1:] if line.startswith("- ")]
    activity = sum(bool(_ACTIVITY_LINE.match(line)) for line in lines)
    return activity, len(lines) - activity


def lesson_reached(messages: Sequence[dict[str, Any]], task: Task, question: str) -> bool:
    """Whether any message other than the question holds the task's marker."""
    context = [m for m in messages if not (m.get("role") == "user" and m.get("content") == question)]
    return task.marker.casefold() in json.dumps(context, ensure_ascii=False).casefold()


def check_prompts(system: LocalSystem, run: LearningRun, tasks: Sequence[Task]) -> None:
    """Fill in ``lesson_in_prompt`` of every answer whose model call was recorded."""
    by_key = {task.key: task for task in tasks}
    calls = {anima: _calls(system, anima) for anima in {a.anima for a in run.answers}}
    checked: list[Answer] = []
    for answer in run.answers:
        messages = calls[answer.anima].get(answer.correlation_id)
        if messages is None:
            checked.append(answer)
            continue
        activity, other = memory_lines(messages)
        reached = lesson_reached(messages, by_key[answer.task], answer.question)
        checked.append(
            dataclasses.replace(answer, lesson_in_prompt=reached, activity_lines=activity, other_lines=other)
        )
    run.answers[:] = checked
