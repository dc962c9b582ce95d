"""Sections 1–10 (seed 003 §10): where and when, who the anima is, and what it is doing.

Each renderer returns Markdown, or None when it has nothing to say for these inputs. The anima's
own files (bootstrap, vision, identity, injection, specialty, permissions) are quoted as they are:
they carry their own headings, and their wording is the anima's, not ours.
"""

from __future__ import annotations

from datetime import datetime

from animas_agent_runner.prompt.inputs import PromptInputs, PromptTrigger
from animas_agent_runner.prompt.markdown import TRIM_NOTE, first_lines, heading, keep_leading_lines, present
from animas_agent_runner.prompt.policy import TASK_IDENTITY_LINES, RenderContext
from animas_agent_runner.prompt.templates import render

# Weekday names from a table, not strftime("%A"), which follows the machine's locale.
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

TRIGGER_NOTES = {
    PromptTrigger.CHAT: "a person sent you a message.",
    PromptTrigger.INBOX: "another anima sent you a message.",
    PromptTrigger.HEARTBEAT: (
        "your heartbeat, a routine look at your messages, tasks and surroundings. "
        "If nothing needs you, do nothing."
    ),
    PromptTrigger.CRON: "one of your scheduled jobs is due: carry it out and produce its result.",
    PromptTrigger.TASK: "a task was handed to you to carry out.",
}


def zone_label(now: datetime) -> str:
    """``Asia/Tokyo (UTC+09:00)`` for a named zone, ``UTC+09:00`` for a bare offset."""
    offset = now.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    utc = f"UTC{sign}{hours:02d}:{mins:02d}"
    key = getattr(now.tzinfo, "key", None)
    return f"{key} ({utc})" if isinstance(key, str) else utc


def environment(inputs: PromptInputs, ctx: RenderContext) -> str | None:
    """1. Who, where and when, why the anima is awake, ground rules and its directory."""
    now = inputs.now
    return render(
        "environment",
        anima=inputs.anima,
        date=now.date().isoformat(),
        weekday=_WEEKDAYS[now.weekday()],
        time=now.strftime("%H:%M"),
        zone=zone_label(now),
        trigger_note=TRIGGER_NOTES[inputs.trigger],
        workspace=inputs.workspace,
    )


def bootstrap(inputs: PromptInputs, ctx: RenderContext) -> str | None:
    """2. First-launch instructions, while bootstrap.md exists."""
    return present(inputs.bootstrap)


def vision(inputs: PromptInputs, ctx: RenderContext) -> str | None:
    """3. The organization's vision."""
    return present(inputs.vision)


def identity(inputs: PromptInputs, ctx: RenderContext) -> str | None:
    """4. identity.md; a task gets only its opening lines (who, in brief)."""
    text = present(inputs.identity)
    if text is None:
        return None
    if inputs.trigger is PromptTrigger.TASK:
        return first_lines(text, TASK_IDENTITY_LINES)
    return text


def injection(inputs: PromptInputs, ctx: RenderContext) -> str | None:
    """5. injection.md: role, principles, code of conduct."""
    return present(inputs.injection)


def specialty(inputs: PromptInputs, ctx: RenderContext) -> str | None:
    """6. specialty_prompt.md, when the role has one."""
    return present(inputs.specialty)


def permissions(inputs: PromptInputs, ctx: RenderContext) -> str | None:
    """7. permissions.md: what the anima may use, read, write and run."""
    return present(inputs.permissions)


def state(inputs: PromptInputs, ctx: RenderContext) -> str | None:
    """8. The current task, what is pending, and what the organization resolved lately."""
    current, pending = present(inputs.current_task), present(inputs.pending)
    resolved = present(inputs.resolutions)
    if current is None and pending is None and resolved is None:
        return None
    return heading(
        "Your current work",
        f"## Current task (state/current_task.md)\n\n{current}" if current else None,
        f"## Pending (state/pending.md)\n\n{pending}" if pending else None,
        f"## Resolved in the organization (last 7 days; ask who solved it)\n\n{resolved}"
        if resolved
        else None,
    )


def task(inputs: PromptInputs, ctx: RenderContext) -> str | None:
    """The task to carry out (task trigger only; placed where the current work would be)."""
    description = present(inputs.task_description)
    return render("task", description=description) if description else None


def _shortened(text: str, budget: int | None) -> str | None:
    """``text`` cut to the budget guard's allowance (None: whole; 0 or nothing fits: absent)."""
    if budget is None:
        return text
    kept = keep_leading_lines(text, budget)
    return f"{kept}\n\n{TRIM_NOTE}" if kept else None


def recent_activity(inputs: PromptInputs, ctx: RenderContext) -> str | None:
    """9. What happened recently (priming channel B)."""
    text = present(inputs.recent_activity)
    body = _shortened(text, ctx.trim.recent_activity_tokens) if text else None
    return heading("What happened recently", body) if body else None


def priming(inputs: PromptInputs, ctx: RenderContext) -> str | None:
    """10. What came to mind on its own for this cycle (the other priming channels)."""
    text = present(inputs.priming)
    body = _shortened(text, ctx.trim.priming_tokens) if text else None
    if body is None:
        return None
    return heading(
        "What comes to mind",
        "Memories that surfaced on their own for this cycle. Follow every `[IMPORTANT]` lesson.",
        body,
    )
