"""``anima replay range | fork | incident`` and ``anima incident export``: replay past one cycle.

This side only reads the stream (or an incident file) and hands the events to agent-runner's
replayer (``python -m animas_agent_runner.replay_command range|fork``), which writes its results to a
shadow folder and nowhere else. Nothing here publishes an event or writes outside the shadow,
except ``incident export``, which writes the one file it is asked for.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from nats.aio.client import Client

from animas_contracts import InvalidAnimaName, validate_anima_name
from animas_tools.animas_cli import NameArgument
from animas_tools.cli_support import fail, home_of, with_nats
from animas_tools.cycle_replay import CycleNotFound, range_events, run_batch
from animas_tools.incident import IncidentError, export_incident, read_incident, write_incident
from animas_tools.schedule_cli import HomeOption, NatsUrlOption

ShadowOption = Annotated[
    Path | None,
    typer.Option(help="A new or empty folder for the replay's results (default: a new temporary one)"),
]


def _anima(value: str | None) -> str | None:
    try:
        return None if value is None else validate_anima_name(value)
    except InvalidAnimaName as exc:
        raise typer.BadParameter(str(exc)) from None


def _instant(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not an ISO-8601 time") from None
    if value.tzinfo is None:
        raise typer.BadParameter(f"{text!r} has no time zone; add one, e.g. {text}+00:00 or {text}Z")
    return value


def shadow_folder(shadow: Path | None, prefix: str) -> Path:
    """The folder a replay may write to: new or empty, so it never mixes with other files."""
    if shadow is None:
        return Path(tempfile.mkdtemp(prefix=prefix))
    if shadow.exists() and (not shadow.is_dir() or any(shadow.iterdir())):
        raise fail(f"{shadow} is not an empty folder; the shadow folder must be new or empty")
    shadow.mkdir(parents=True, exist_ok=True)
    return shadow


def _gather(
    home: Path | None, nats_url: str | None, since: datetime, until: datetime | None, anima: str
) -> list[bytes]:
    events: list[bytes] = []

    async def read(nc: Client) -> None:
        events.extend(await range_events(nc.jetstream(), since, until, anima))

    try:
        with_nats(home, nats_url, read)
    except CycleNotFound as exc:
        raise fail(str(exc)) from None
    return events


def _replay(args: list[str], events: list[bytes]) -> None:
    """Run the replayer; its report goes to stdout, its exit code (1: diverged) is ours."""
    result = run_batch(args, events)
    typer.echo(result.stdout, nl=False)
    if result.returncode not in (0, 1):
        raise fail(result.stderr.strip() or f"the replayer exited with {result.returncode}", 2)
    raise typer.Exit(result.returncode)


def register(app: typer.Typer, replay: typer.Typer) -> None:
    """Add ``range``, ``fork`` and ``incident`` to ``anima replay``, and ``anima incident``."""

    @replay.command("range")
    def replay_range(
        since: Annotated[str, typer.Option("--from", help="ISO-8601 time with a zone")],
        until: Annotated[str, typer.Option("--to", help="ISO-8601 time with a zone")],
        anima: Annotated[str | None, typer.Option(help="Only this anima's cycles", callback=_anima)] = None,
        shadow: ShadowOption = None,
        home: HomeOption = None,
        nats_url: NatsUrlOption = None,
    ) -> None:
        """Replay offline every cycle that started in a time range and report what diverged.

        Each cycle's prompt is rebuilt by this build and its recorded model answers and tool
        results are played back; prompt, tool calls and reply are compared with the recording.
        Exits 1 when a cycle diverged. Results go to the shadow folder only.
        """
        first, last = _instant(since), _instant(until)
        if last < first:
            raise fail(f"--to {until} is before --from {since}")
        events = _gather(home, nats_url, first, last, anima or "*")
        target = shadow_folder(shadow, "anima-replay-")
        _replay(["range", "--shadow", str(target)], events)

    @replay.command("fork")
    def replay_fork(
        name: NameArgument,
        model: Annotated[str, typer.Option(help="The model to run the cycles with (litellm name)")],
        since: Annotated[str, typer.Option("--from", help="ISO-8601 time with a zone")],
        until: Annotated[str | None, typer.Option("--to", help="ISO-8601 time with a zone")] = None,
        credential: Annotated[
            str | None, typer.Option(help="Credential in config.json (default: the anima's)")
        ] = None,
        shadow: ShadowOption = None,
        home: HomeOption = None,
        nats_url: NatsUrlOption = None,
    ) -> None:
        """Run an anima's recorded cycles again with another model (real calls) and diff the replies.

        No tool runs: a call the recording has at the same position gets the recorded result,
        any other an error. Nothing is published; the fork's calls and replies go to the shadow.
        """
        first = _instant(since)
        last = _instant(until) if until else None
        events = _gather(home, nats_url, first, last, name)
        target = shadow_folder(shadow, f"anima-fork-{name}-")
        args = ["fork", "--shadow", str(target), "--model", model]
        args += ["--config", str(home_of(home).config_file)]
        _replay(args + (["--credential", credential] if credential else []), events)

    @replay.command("incident")
    def replay_incident(
        file: Annotated[Path, typer.Argument(help="A file written by `anima incident export`")],
        shadow: ShadowOption = None,
    ) -> None:
        """Replay every cycle of an exported incident offline (no broker) and report what diverged."""
        try:
            incident = read_incident(file)
        except IncidentError as exc:
            raise fail(str(exc), 2) from None
        target = shadow_folder(shadow, "anima-incident-")
        _replay(["range", "--shadow", str(target)], incident.event_lines())

    incident_app = typer.Typer(help="Take what happened in one conversation elsewhere.", no_args_is_help=True)
    app.add_typer(incident_app, name="incident")

    @incident_app.command("export")
    def incident_export(
        correlation_id: Annotated[str, typer.Option(help="The conversation or cycle's correlation id")],
        output: Annotated[Path, typer.Option("-o", "--output", help="The file to write")],
        home: HomeOption = None,
        nats_url: NatsUrlOption = None,
    ) -> None:
        """Write every event of one correlation, bodies inlined, to one self-contained JSON file."""

        async def export(nc: Client) -> None:
            incident = await export_incident(nc.jetstream(), correlation_id, datetime.now(UTC))
            write_incident(incident, output)
            typer.echo(
                f"exported {len(incident.events)} event(s) of {', '.join(incident.animas)} to {output}"
            )

        try:
            with_nats(home, nats_url, export)
        except (IncidentError, CycleNotFound) as exc:
            raise fail(str(exc)) from None
