"""The ``anima`` command."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import msgspec
import typer

from animas_contracts import (
    InvalidAnimaName,
    RebuildReply,
    RebuildRequest,
    SnapshotReply,
    SnapshotRequest,
    validate_anima_name,
)
from animas_contracts.subjects import ACTIVITY_STREAM, RPC_MEMORY_REBUILD, RPC_MEMORY_SNAPSHOT
from animas_core.config import ConfigError
from animas_tools import (
    animas_cli,
    consolidate_cli,
    consolidation_replay,
    demo_cli,
    replay_cli,
    restore_cli,
    schedule_cli,
    status_cli,
    tasks_cli,
)
from animas_tools.cli_support import fail, home_of
from animas_tools.config_cli import config_app
from animas_tools.cycle_replay import CycleNotFound, cycle_events, run_replayer
from animas_tools.events import read_activity, timeline_line
from animas_tools.nats_server import NatsServerError
from animas_tools.system import NotRunning, connect_admin
from animas_tools.token_cli import token_app
from animas_tools.up import AlreadyRunning, run_up

app = typer.Typer(help="AnimaWorks: organization-as-code for LLM agents.", no_args_is_help=True)
replay = typer.Typer(
    help="Rebuild projections from the stream, or re-run recorded cycles (offline, or with another model).",
    no_args_is_help=True,
)
app.add_typer(replay, name="replay")
consolidation_replay.register(replay)
replay_cli.register(app, replay)
app.add_typer(config_app, name="config")
app.add_typer(token_app, name="token")
animas_cli.register(app)
status_cli.register(app)
schedule_cli.register(app)
consolidate_cli.register(app)
restore_cli.register(app)
tasks_cli.register(app)
demo_cli.register(app)

HomeOption = Annotated[
    Path | None, typer.Option("--home", help="AnimaWorks home (default: $ANIMAWORKS_HOME or ~/.animaworks)")
]
NatsUrlOption = Annotated[
    str | None, typer.Option("--nats-url", help="Use this NATS instead of the one `anima up` started")
]


def _say(line: str) -> None:
    typer.echo(line)


def _anima_option(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return validate_anima_name(value)
    except InvalidAnimaName as exc:
        raise typer.BadParameter(str(exc)) from None


@app.command()
def up(
    home: HomeOption = None,
    nats_url: NatsUrlOption = None,
    host: Annotated[str, typer.Option(help="Gateway listen address")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Gateway port (0 picks a free one)")] = 18500,
    ready_timeout: Annotated[float, typer.Option(help="Seconds to wait for every service")] = 120.0,
    local_model: Annotated[
        bool,
        typer.Option(
            envvar="ANIMAWORKS_LOCAL_MODEL",
            help="Run the bundled local model for animas without a configured model",
        ),
    ] = True,
    agent_runners: Annotated[
        int,
        typer.Option(
            min=1,
            envvar="ANIMAWORKS_AGENT_RUNNERS",
            help="agent-runner replicas to run (they share the work; one takes over if another dies)",
        ),
    ] = 1,
    stream_replicas: Annotated[
        int,
        typer.Option(
            min=1,
            envvar="ANIMAWORKS_STREAM_REPLICAS",
            help="Copies of each new stream and bucket (3 with --nats-url naming a 3-node cluster)",
        ),
    ] = 1,
) -> None:
    """Start nats-server and every service; stop everything on Ctrl-C."""
    try:
        code = asyncio.run(
            run_up(
                home_of(home),
                nats_url=nats_url,
                gateway_host=host,
                gateway_port=port,
                ready_timeout_s=ready_timeout,
                say=_say,
                local_model=local_model,
                agent_runners=agent_runners,
                stream_replicas=stream_replicas,
            )
        )
    except (AlreadyRunning, ConfigError, NatsServerError) as exc:
        raise fail(str(exc)) from None
    raise typer.Exit(code)


@app.command()
def events(
    home: HomeOption = None,
    nats_url: NatsUrlOption = None,
    anima: Annotated[str | None, typer.Option(help="Only this anima", callback=_anima_option)] = None,
    event_type: Annotated[
        str | None, typer.Option("--type", help="Only this event type, e.g. response.sent")
    ] = None,
    correlation_id: Annotated[str | None, typer.Option(help="Only this conversation or cycle")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One raw event per line")] = False,
) -> None:
    """Print the activity timeline, oldest first."""

    async def show() -> None:
        nc = await connect_admin(home_of(home), nats_url)
        try:
            async for stored in read_activity(
                nc.jetstream(), anima=anima or "*", event_type=event_type or ">"
            ):
                if correlation_id and (stored.event is None or stored.event.correlation_id != correlation_id):
                    continue
                typer.echo(stored.raw.decode(errors="replace") if as_json else timeline_line(stored))
        finally:
            await nc.close()

    _run(show())


@replay.command("rebuild")
def replay_rebuild(
    home: HomeOption = None,
    nats_url: NatsUrlOption = None,
    anima: Annotated[str | None, typer.Option(help="Only this anima", callback=_anima_option)] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for memory-writer")] = 600.0,
    full: Annotated[bool, typer.Option("--full", help="Replay from sequence 1, ignoring snapshots")] = False,
) -> None:
    """Ask memory-writer to rebuild anima directories from the stream alone.

    memory-writer pauses, deletes the directories (of one anima, or all), restores each anima's
    newest snapshot that still matches the stream (unless --full), replays the stored events
    after it and resumes; this command writes nothing itself.
    """

    async def ask() -> None:
        nc = await connect_admin(home_of(home), nats_url)
        try:
            typer.echo(
                f"asking memory-writer to rebuild {'anima ' + anima if anima else 'every anima'} "
                f"from {ACTIVITY_STREAM}..."
            )
            request = msgspec.json.encode(RebuildRequest(anima=anima, full=full))
            msg = await nc.request(RPC_MEMORY_REBUILD, request, timeout=timeout)
        finally:
            await nc.close()
        reply = msgspec.json.decode(msg.data, type=RebuildReply)
        if not reply.ok:
            raise fail(reply.error or "rebuild failed")
        animas = ", ".join(reply.animas) or "(none)"
        typer.echo(f"rebuilt {reply.files} file(s) from {reply.events} event(s) for: {animas}")
        typer.echo(
            f"refused {reply.refused} stored event(s): unreadable, or the payload disagrees with the subject"
        )
        for reason in reply.refusals:
            typer.echo(f"  {reason}")
        for name, seq in sorted(reply.restored.items()):
            typer.echo(f"{name}: started from its snapshot at stream sequence {seq}")
        for reason in reply.fallbacks:
            typer.echo(f"snapshot not used: {reason}")

    _run(ask())


@replay.command("snapshot")
def replay_snapshot(
    home: HomeOption = None,
    nats_url: NatsUrlOption = None,
    anima: Annotated[str | None, typer.Option(help="Only this anima", callback=_anima_option)] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for memory-writer")] = 300.0,
) -> None:
    """Ask memory-writer to snapshot anima directories now, so the next rebuild starts there."""

    async def ask() -> None:
        nc = await connect_admin(home_of(home), nats_url)
        try:
            msg = await nc.request(
                RPC_MEMORY_SNAPSHOT, msgspec.json.encode(SnapshotRequest(anima=anima)), timeout=timeout
            )
        finally:
            await nc.close()
        reply = msgspec.json.decode(msg.data, type=SnapshotReply)
        if not reply.ok:
            raise fail(reply.error or "snapshot failed")
        for name, seq in sorted(reply.snapshots.items()):
            typer.echo(f"{name}: snapshot at stream sequence {seq}")

    _run(ask())


@replay.command("cycle")
def replay_cycle(
    cycle_id: Annotated[str, typer.Argument(help="The cycle's id (the id of its cycle.started event)")],
    home: HomeOption = None,
    nats_url: NatsUrlOption = None,
    anima: Annotated[
        str | None, typer.Option(help="The cycle's anima (faster)", callback=_anima_option)
    ] = None,
) -> None:
    """Re-run a recorded cycle against its recorded model responses and diff its prompt.

    The prompt is rebuilt from what ``cycle.started`` recorded, with the code installed now: an
    unchanged build prints an empty diff, a changed prompt template shows up as a diff.
    """
    events: list[bytes] = []

    async def gather() -> None:
        nc = await connect_admin(home_of(home), nats_url)
        try:
            events.extend(await cycle_events(nc.jetstream(), cycle_id, anima or "*"))
        finally:
            await nc.close()

    try:
        _run(gather())
    except CycleNotFound as exc:
        raise fail(str(exc)) from None
    result = run_replayer(cycle_id, events)
    typer.echo(result.stdout, nl=False)
    if result.returncode != 0:
        raise fail(result.stderr.strip() or f"the replayer exited with {result.returncode}")


@app.command("scripted-llm")
def scripted_llm(
    script: Annotated[
        Path, typer.Option(help="JSON file: a list of turns or {'turns': [...], 'repeat': bool}")
    ],
    port: Annotated[int, typer.Option(help="Port (0 picks a free one)")] = 0,
    repeat: Annotated[bool, typer.Option(help="Loop over the script")] = False,
    url_file: Annotated[Path | None, typer.Option(help="Write the URL here")] = None,
) -> None:
    """Serve a scripted OpenAI-compatible LLM (for demos and tests; clearly not a real model)."""
    from animas_tools import scripted_llm as module

    argv = ["--port", str(port), "--script", str(script)]
    if repeat:
        argv.append("--repeat")
    if url_file is not None:
        argv += ["--url-file", str(url_file)]
    module.main(argv)


def _run(coro: object) -> None:
    try:
        asyncio.run(coro)  # type: ignore[arg-type]
    except NotRunning as exc:
        raise fail(str(exc)) from None
    except (OSError, TimeoutError) as exc:
        raise fail(f"could not reach NATS: {exc!r}") from None


def main() -> None:
    """Entry point of the ``anima`` command."""
    app()


if __name__ == "__main__":
    main()
