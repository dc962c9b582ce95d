"""``anima consolidate NAME``: run an anima's consolidation now, by hand, and show what it did.

Like ``anima trigger``, it publishes the due event the scheduler would (``consolidation.due``,
``scheduled_by: manual``) as the operator; the consolidator does the rest. It then waits for
the run's ``consolidation.finished`` and prints its counts and reasons.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from typing import Annotated

import msgspec
import typer
from nats.aio.client import Client
from nats.aio.msg import Msg

from animas_contracts import (
    ConsolidationDue,
    ConsolidationFinished,
    ConsolidationKind,
    ConsolidationPlanned,
    ConsolidationStarted,
    ContractError,
    ScheduledBy,
    decode_event,
    uuid7,
)
from animas_contracts.subjects import activity_subject
from animas_core.config import ConfigError, load_config
from animas_core.memory_client import MemoryClient
from animas_tools.animas_cli import NameArgument
from animas_tools.cli_support import fail, home_of, with_nats
from animas_tools.schedule_cli import HomeOption, NatsUrlOption, _status, anima_zone, publish_event


def consolidation_due(anima: str, kind: ConsolidationKind, day: date, now: datetime) -> ConsolidationDue:
    """The event a manual consolidation publishes (``scheduled_by=manual``, for ``day``)."""
    event_id = uuid7()
    return ConsolidationDue(
        id=event_id,
        anima=anima,
        correlation_id=event_id,
        producer="cli",
        kind=kind,
        fire_at=now.astimezone(UTC),
        scheduled_by=ScheduledBy.MANUAL,
        date=day.isoformat(),
    )


def describe(done: ConsolidationFinished) -> list[str]:
    """The lines printed for a finished run."""
    lines = [f"{done.kind} consolidation of {done.anima} for {done.date}: {done.status}"]
    if done.error:
        lines.append(f"  {done.error}")
    if done.status != "ok":
        return lines
    how = f"by the model {done.model}" if done.method == "model" else str(done.method)
    if done.fallback_reason:
        how += f" ({done.fallback_reason})"
    lines.append(f"  decided {how}")
    counts = f"created {done.created}, merged {done.merged}, superseded {done.superseded}"
    if done.kind == ConsolidationKind.WEEKLY:
        counts += f", summarised {done.summarised}"
    forgotten = f", forgotten {done.forgotten}" if done.forgotten else ""
    lines.append(f"  {counts}, skipped {done.skipped}{forgotten}")
    if done.procedures or done.revised or done.proposed:
        lines.append(
            f"  procedures: distilled {done.procedures}, revised {done.revised}, "
            f"proposed as skills {done.proposed}"
        )
    lines += [f"  skipped: {reason}" for reason in done.skips]
    lines += [f"  rejected: {reason}" for reason in done.rejections]
    if done.identity:
        lines.append(f"  identity: {done.identity}")
    return lines


ConsolidationEvent = ConsolidationDue | ConsolidationStarted | ConsolidationPlanned | ConsolidationFinished


def summary(event: ConsolidationEvent) -> str:
    """The ``anima events`` line of a consolidation event."""
    if isinstance(event, ConsolidationDue):
        day = event.date or "the day before"
        return f"{event.kind.value} for {day} by {event.scheduled_by.value}"
    if isinstance(event, ConsolidationStarted):
        return f"{event.kind.value} {event.date}: {event.sources} source lines"
    if isinstance(event, ConsolidationPlanned):
        decided = f"{event.method.value}: {len(event.decisions)} operations, {len(event.skips)} skips"
        return decided + f", {len(event.rejections)} rejected"
    counts = f"created {event.created}, merged {event.merged}, superseded {event.superseded}"
    if event.kind == ConsolidationKind.WEEKLY:
        counts += f", summarised {event.summarised}"
    line = f"{event.status.value} {event.method.value}: {counts}, skipped {event.skipped}"
    if event.forgotten:
        line += f", forgotten {event.forgotten}"
    if event.procedures or event.revised or event.proposed:
        line += f", procedures {event.procedures}/revised {event.revised}/proposed {event.proposed}"
    if event.rejections:
        line += f", {len(event.rejections)} rejected"
    return line + (f": {event.error}" if event.error else "")


def _parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date; use YYYY-MM-DD") from None


def register(app: typer.Typer) -> None:
    """Add ``consolidate`` to the ``anima`` app."""

    @app.command()
    def consolidate(
        name: NameArgument,
        daily: Annotated[bool, typer.Option("--daily/--weekly", help="Daily (default) or weekly")] = True,
        day: Annotated[
            str | None,
            typer.Option("--date", help="The day to consolidate, YYYY-MM-DD (default: today there)"),
        ] = None,
        wait: Annotated[bool, typer.Option(help="Wait for the run to finish and show what it did")] = True,
        timeout: Annotated[float, typer.Option(min=1, help="Seconds to wait for the run")] = 600.0,
        home: HomeOption = None,
        nats_url: NatsUrlOption = None,
    ) -> None:
        """Consolidate an anima's day now: its episodes and conversations become knowledge."""
        chosen = _parse_day(day) if day else None
        try:
            config = load_config(home_of(home).config_file)
        except ConfigError as exc:
            raise fail(str(exc)) from None
        kind = ConsolidationKind.DAILY if daily else ConsolidationKind.WEEKLY

        async def run(nc: Client) -> None:
            status = await _status(MemoryClient(nc), name)
            now = datetime.now(UTC)
            try:
                target = chosen or now.astimezone(anima_zone(config, name, status)).date()
            except (ConfigError, ValueError) as exc:
                raise fail(str(exc)) from None
            event = consolidation_due(name, kind, target, now)
            done: asyncio.Future[ConsolidationFinished] = asyncio.get_running_loop().create_future()

            async def on_finished(msg: Msg) -> None:
                try:
                    finished = decode_event(msg.data)
                except (ContractError, msgspec.DecodeError):
                    return
                if (
                    isinstance(finished, ConsolidationFinished)
                    and finished.run_id == event.id
                    and not done.done()
                ):
                    done.set_result(finished)

            sub = await nc.subscribe(activity_subject(name, "consolidation.finished"), cb=on_finished)
            try:
                await publish_event(nc, event)
                typer.echo(f"asked for the {kind} consolidation of {name} for {target}: {event.id}")
                if not wait:
                    return
                try:
                    result = await asyncio.wait_for(done, timeout)
                except TimeoutError:
                    raise fail(
                        f"no consolidation.finished within {timeout:g}s; see `anima events {name}`"
                    ) from None
            finally:
                await sub.unsubscribe()
            typer.echo("\n".join(describe(result)))
            if result.status != "ok":
                raise typer.Exit(1)

        with_nats(home, nats_url, run)
