"""heartbeat.md and cron.md (seed 003 §8.2–8.3): sections of Markdown under ``## `` headings.

Text before the first ``## `` heading (the ``# Heartbeat: name`` title, notes) and anything inside
fenced code blocks is ignored. A problem is reported with the heading it is under, and the part it
affects is left out (None); nothing is guessed.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Final

from animas_core.schedules.hours import ActiveHours, parse_active_hours
from animas_core.schedules.notation import parse_schedule
from animas_core.schedules.rule import Schedule
from animas_core.schedules.zones import ScheduleError, normalise

_LIST_MARKER = re.compile(r"^(?:[-*+]|\d+[.)])\s+")
_HEADING = re.compile(r"^(?P<title>.*?)\s*[(（](?P<schedule>[^()（）]*)[)）]\s*$")
_OPTION = re.compile(r"^(?P<key>command|skip_pattern|enabled)\s*:\s*(?P<value>.*)$", re.IGNORECASE)

HEARTBEAT_SECTIONS: Final[dict[str, str]] = {
    "execution interval": "interval",
    "実行間隔": "interval",
    "active hours": "active_hours",
    "活動時間": "active_hours",
    "checklist": "checklist",
    "チェックリスト": "checklist",
    "notification rules": "notification_rules",
    "通知ルール": "notification_rules",
}
"""heartbeat.md headings (any case) and the part each one holds."""
_KNOWN_SECTIONS: Final = "## Execution Interval, ## Active Hours, ## Checklist and ## Notification Rules"


@dataclasses.dataclass(frozen=True)
class Section:
    """One ``## `` section: its heading as written (without ``## ``) and its body lines."""

    heading: str
    lines: tuple[str, ...]

    @property
    def body(self) -> str:
        """The body without leading and trailing blank lines."""
        return "\n".join(self.lines).strip("\n")


def sections(text: str) -> list[Section]:
    """The ``## `` sections of a Markdown document, in order."""
    found: list[Section] = []
    heading: str | None = None
    lines: list[str] = []
    fenced = False
    for line in text.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        if not fenced and line.startswith("## "):
            if heading is not None:
                found.append(Section(heading, tuple(lines)))
            heading, lines = line[3:].strip(), []
        elif not fenced and line.startswith("# "):
            if heading is not None:
                found.append(Section(heading, tuple(lines)))
            heading, lines = None, []
        elif heading is not None:
            lines.append(line)
    if heading is not None:
        found.append(Section(heading, tuple(lines)))
    return found


def _items(section: Section) -> tuple[str, ...]:
    return tuple(_LIST_MARKER.sub("", line.strip()) for line in section.lines if line.strip())


@dataclasses.dataclass(frozen=True)
class HeartbeatSpec:
    """heartbeat.md: how often to look around, when, what to check and when to tell someone.

    ``errors`` holds one line per problem, each naming its section (``"## Active Hours": …``);
    a part with a problem is None.
    """

    interval: Schedule | None
    active_hours: ActiveHours | None
    checklist: tuple[str, ...]
    notification_rules: tuple[str, ...]
    errors: tuple[str, ...]


def parse_heartbeat(text: str) -> HeartbeatSpec:
    """Parse heartbeat.md; problems are collected in :attr:`HeartbeatSpec.errors`, never raised."""
    parts: dict[str, Section] = {}
    errors: list[str] = []
    for section in sections(text):
        part = HEARTBEAT_SECTIONS.get(normalise(section.heading).casefold())
        if part is None:
            errors.append(f'"## {section.heading}": unknown section; heartbeat.md has {_KNOWN_SECTIONS}')
        elif part in parts:
            errors.append(f'"## {section.heading}": the section appears twice')
        else:
            parts[part] = section
    interval: Schedule | None = None
    active_hours: ActiveHours | None = None
    if (written := parts.get("interval")) is not None:
        try:
            interval = parse_schedule(_one_line(written))
        except ScheduleError as exc:
            errors.append(f'"## {written.heading}": {exc}')
    if (written := parts.get("active_hours")) is not None:
        try:
            active_hours = parse_active_hours(_one_line(written))
        except ScheduleError as exc:
            errors.append(f'"## {written.heading}": {exc}')
    checklist, rules = parts.get("checklist"), parts.get("notification_rules")
    return HeartbeatSpec(
        interval=interval,
        active_hours=active_hours,
        checklist=_items(checklist) if checklist else (),
        notification_rules=_items(rules) if rules else (),
        errors=tuple(errors),
    )


def _one_line(section: Section) -> str:
    items = _items(section)
    if len(items) != 1:
        raise ScheduleError(f"write exactly one line here, found {len(items)}")
    return items[0]


@dataclasses.dataclass(frozen=True)
class CronTask:
    """One ``## <Title> (<schedule>)`` section of cron.md.

    ``error`` says why the task cannot run as written (its schedule, or an option line); the
    schedule is then None and the task is skipped. ``heading`` is the heading as written, for
    messages.
    """

    title: str
    schedule: Schedule | None
    error: str | None
    instruction: str
    command: str | None
    skip_pattern: str | None
    enabled: bool = True
    heading: str = ""


@dataclasses.dataclass(frozen=True)
class CronSpec:
    """Every task of cron.md, in file order."""

    tasks: tuple[CronTask, ...]

    def task(self, title: str) -> CronTask | None:
        """The task with this title, ignoring case and surrounding spaces (the first, if repeated)."""
        wanted = normalise(title).casefold()
        return next((t for t in self.tasks if normalise(t.title).casefold() == wanted), None)


def parse_cron(text: str) -> CronSpec:
    """Parse cron.md; a task that cannot run as written carries its :attr:`CronTask.error`."""
    tasks: list[CronTask] = []
    seen: set[str] = set()
    for section in sections(text):
        task = _task(section)
        key = normalise(task.title).casefold()
        if key in seen and task.error is None:
            task = dataclasses.replace(
                task, schedule=None, error=f"another task is titled {task.title!r} (titles must differ)"
            )
        seen.add(key)
        tasks.append(task)
    return CronSpec(tuple(tasks))


def _unquote(value: str) -> str:
    value = value.strip()
    return value[1:-1].strip() if len(value) > 1 and value[0] == value[-1] == "`" else value


def _task(section: Section) -> CronTask:
    heading = f"## {section.heading}"
    match = _HEADING.match(section.heading)
    title = match["title"].strip() if match else section.heading
    options: dict[str, str] = {}
    problems: list[str] = []
    lines = list(section.lines)
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and (option := _OPTION.match(lines[0].strip())):
        key = option["key"].lower()
        if key in options:
            problems.append(f"{key}: is given twice")
        options[key] = _unquote(option["value"])
        lines.pop(0)
    instruction = "\n".join(lines).strip()
    command, skip_pattern = options.get("command"), options.get("skip_pattern")
    enabled = options.get("enabled", "true").lower()
    schedule: Schedule | None = None
    if match is None or not title:
        problems.append("write the title, then the schedule in parentheses: '## Daily Report (Daily 17:00)'")
    else:
        try:
            schedule = parse_schedule(match["schedule"])
        except ScheduleError as exc:
            problems.append(str(exc))
    problems += _option_problems(command, skip_pattern, enabled, instruction)
    error = "; ".join(problems) or None
    return CronTask(
        title=title,
        schedule=None if error else schedule,
        error=error,
        instruction=instruction,
        command=command,
        skip_pattern=skip_pattern,
        enabled=enabled != "false",
        heading=heading,
    )


def _option_problems(
    command: str | None, skip_pattern: str | None, enabled: str, instruction: str
) -> list[str]:
    problems: list[str] = []
    if enabled not in ("true", "false"):
        problems.append(f"enabled: must be true or false, not {enabled!r}")
    if command == "":
        problems.append("command: is empty")
    if skip_pattern is not None:
        if command is None:
            problems.append("skip_pattern: needs a command: line (it is searched in the command's output)")
        try:
            re.compile(skip_pattern)
        except re.error as exc:
            problems.append(f"skip_pattern: is not a valid regular expression: {exc}")
    if not instruction and command is None:
        problems.append("the task has neither an instruction nor a command: line")
    return problems
