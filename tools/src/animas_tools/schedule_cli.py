"""``anima schedule`` (the next fire times of an anima) and ``anima trigger`` (fire one by hand).

Both read the anima's files through memory-writer (``rpc.memory.read``) and the schedules through
:mod:`animas_core.schedules`, the scheduler's own source of truth; a trigger is a ``heartbeat.due``
or ``cron.due`` event on the activity stream, published as the operator.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from nats.aio.client import Client

from animas_contracts import Event, encode_event
from animas_contracts.subjects import ACTIVITY_STREAM, HEADER_EVENT_TYPE, HEADER_MSG_ID, activity_subject
from animas_core.config import AnimaWorksConfig, ConfigError, load_config
from animas_core.memory_client import MemoryClient
from animas_core.schedules import HEARTBEAT, NamedSchedule, anima_schedules, next_fires
from animas_core.schedules.manual import (
    TriggerKind as TriggerKind,
)
from animas_core.schedules.manual import (
    TriggerRefused,
    cron_task,
    status_zone,
)
from animas_core.schedules.manual import (
    due_event as due_event,
)
from animas_tools.animas_cli import NameArgument
from animas_tools.cli_support import fail, home_of, with_nats

HomeOption = Annotated[Path | None, typer.Option("--home", help="AnimaWorks home")]
NatsUrlOption = Annotated[
    str | None, typer.Option("--nats-url", help="NATS to use instead of the running system's")
]
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
"""Fixed English day names: the output does not depend on the machine's locale."""


def anima_zone(config: AnimaWorksConfig, name: str, status_json: str | None) -> ZoneInfo:
    """The anima's zone (:func:`animas_core.schedules.manual.status_zone`)."""
    return status_zone(config, name, status_json)


def when(instant: datetime, tz: ZoneInfo) -> str:
    """``2025-06-06 Fri 17:00 +09:00``: the wall clock of ``tz`` with its UTC offset."""
    local = instant.astimezone(tz)
    return f"{local:%Y-%m-%d} {_DAYS[local.weekday()]} {local:%H:%M} {local.isoformat()[-6:]}"


def _describe(named: NamedSchedule) -> str:
    assert named.schedule is not None
    where = f"{named.file} {named.section}" if named.file == "config.json" else named.file
    text = named.schedule.text
    if named.schedule.zone is not None and named.schedule.zone.key not in text:
        text += f" [{named.schedule.zone.key}]"  # what an abbreviation such as JST stands for
    if named.active_hours is not None:
        text += f", only {named.active_hours}"
    return f"{named.key} ({where}): {text}" + ("" if named.enabled else ", disabled")


def render_plan(
    anima: str, plan: Sequence[NamedSchedule], *, now: datetime, tz: ZoneInfo, count: int
) -> list[str]:
    """The lines ``anima schedule`` prints: each schedule, then its next ``count`` fire times.

    A schedule that cannot be read is one ``error: <file> "<heading>": <reason>`` line.
    """
    lines = [f"{anima}: time zone {tz.key}, now {when(now, tz)}"]
    if not any(named.key == HEARTBEAT for named in plan):
        lines.append("heartbeat: none (heartbeat.md has no ## Execution Interval)")
    for named in plan:
        if named.schedule is None:
            # Heartbeat errors name their own sections ("## Active Hours": …); a cron task's is its heading.
            where = f'"{named.section}": ' if named.section else ""
            lines.append(f"error: {named.file} {where}{named.error}")
            continue
        lines.append(_describe(named))
        if not named.enabled:
            continue
        fires = next_fires(named, now, tz, count)
        lines += [f"  {when(fire, tz)}" for fire in fires] or ["  (no fire time within a year)"]
    return lines


async def publish_event(nc: Client, event: Event) -> None:
    """Store ``event`` in the activity stream (deduplicated by its id)."""
    await nc.jetstream().publish(
        activity_subject(event.anima, event.event_type),
        encode_event(event),
        stream=ACTIVITY_STREAM,
        headers={HEADER_MSG_ID: event.id, HEADER_EVENT_TYPE: event.event_type},
    )


async def _status(files: MemoryClient, name: str) -> str:
    status = await files.read(name, "status.json")
    if status is None:
        raise fail(f"no anima named {name!r}")
    return status


def register(app: typer.Typer) -> None:
    """Add ``schedule`` and ``trigger`` to the ``anima`` app."""

    @app.command()
    def schedule(
        name: NameArgument,
        count: Annotated[int, typer.Option(min=1, max=1000, help="Fire times to show per schedule")] = 3,
        home: HomeOption = None,
        nats_url: NatsUrlOption = None,
    ) -> None:
        """Show the next fire times of an anima's heartbeat, cron tasks and consolidation."""
        try:
            config = load_config(home_of(home).config_file)
        except ConfigError as exc:
            raise fail(str(exc)) from None

        async def show(nc: Client) -> None:
            files = MemoryClient(nc)
            status = await _status(files, name)
            try:
                tz = anima_zone(config, name, status)
            except (ConfigError, ValueError) as exc:
                raise fail(str(exc)) from None
            heartbeat, cron = await files.read(name, "heartbeat.md"), await files.read(name, "cron.md")
            plan = anima_schedules(heartbeat, cron, consolidation=config.consolidation)
            now = datetime.now(UTC)
            typer.echo("\n".join(render_plan(name, plan, now=now, tz=tz, count=count)))

        with_nats(home, nats_url, show)

    @app.command()
    def trigger(
        name: NameArgument,
        kind: Annotated[TriggerKind, typer.Argument(help="heartbeat or cron")],
        task: Annotated[str | None, typer.Argument(help="The cron task's title (cron only)")] = None,
        home: HomeOption = None,
        nats_url: NatsUrlOption = None,
    ) -> None:
        """Fire an anima's heartbeat, or one of its cron tasks, now (outside its schedule)."""
        if kind is TriggerKind.HEARTBEAT and task is not None:
            raise typer.BadParameter("a heartbeat has no task: `anima trigger NAME heartbeat`")
        if kind is TriggerKind.CRON and not task:
            raise typer.BadParameter('name the task: `anima trigger NAME cron "Task Title"`')

        async def fire(nc: Client) -> None:
            files = MemoryClient(nc)
            await _status(files, name)
            title = None
            if kind is TriggerKind.CRON:
                assert task is not None
                try:
                    found = cron_task(name, await files.read(name, "cron.md"), task)
                except TriggerRefused as exc:
                    raise fail(str(exc)) from None
                if not found.enabled:
                    typer.echo(f"note: {found.title!r} is disabled; firing it by hand anyway", err=True)
                title = found.title
            event = due_event(name, kind, title, datetime.now(UTC))
            await publish_event(nc, event)
            what = "heartbeat" if title is None else f"cron task {title!r}"
            typer.echo(f"fired the {what} of {name} by hand: {event.event_type} {event.id}")

        with_nats(home, nats_url, fire)
