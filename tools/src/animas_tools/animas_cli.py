"""``anima create | list | show | enable | disable | identity | sync | export | import``.

Every change is an event published as the operator; memory-writer applies it and answers.
Reads go through memory-writer too, except ``export``, which archives the local directory.
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Annotated

import msgspec
import typer
from nats.aio.client import Client
from nats.js.errors import NotFoundError

from animas_contracts import (
    AnimaCreated,
    AnimaListReply,
    AnimaStatusChanged,
    Event,
    IdentityRevised,
    InvalidAnimaName,
    MemoryOpApplied,
    MemoryReadReply,
    MemoryReadRequest,
    ReindexReply,
    ReindexRequest,
    SearchReply,
    SearchRequest,
    SyncReply,
    uuid7,
    validate_anima_name,
)
from animas_contracts.subjects import (
    ACTIVITY_STREAM,
    BODIES_BUCKET,
    RPC_MEMORY_ANIMAS,
    RPC_PRIMING_REINDEX,
    rpc_subject,
)
from animas_core.anima_files import ROLES, AnimaSpec, blank_files, parse_character_sheet, template_files
from animas_core.character_sheet import CharacterSheetError
from animas_tools.cli_support import fail, home_of, with_nats
from animas_tools.identity_approval import ProposalNotFound, already_revised, approval, find_proposal
from animas_tools.portability import INLINE_LIMIT, ImportError_, export_anima, import_event, read_export
from animas_tools.publish import NoAnswer, publish_change

HomeOption = Annotated[Path | None, typer.Option("--home", help="AnimaWorks home")]
NatsUrlOption = Annotated[
    str | None, typer.Option("--nats-url", help="NATS to use instead of the running system's")
]


def _name(value: str) -> str:
    try:
        return validate_anima_name(value)
    except InvalidAnimaName as exc:
        raise typer.BadParameter(str(exc)) from None


NameArgument = Annotated[str, typer.Argument(help="The anima's name", callback=_name)]


def _optional_name(value: str | None) -> str | None:
    return None if value is None else _name(value)


async def _change(nc: Client, event: Event, done: str) -> None:
    answer = await publish_change(nc, event)
    if not isinstance(answer, MemoryOpApplied):
        raise fail(f"refused: {answer.reason}")
    typer.echo(done)


async def _approve(nc: Client, name: str, proposal_id: str, author: str) -> None:
    js = nc.jetstream()
    try:
        proposal = await find_proposal(js, name, proposal_id)
    except ProposalNotFound as exc:
        raise fail(str(exc)) from None
    revision = approval(proposal, author)
    if await already_revised(js, name, revision.id):
        typer.echo(f"proposal {proposal_id} was approved already: identity of {name} unchanged")
        return
    done = f"identity of {name} revised: proposal {proposal_id} approved by {author}"
    await _change(nc, revision, done + f" ({proposal.changed_lines} changed lines)")


def creation_event(name: str, files: dict[str, str], source: str) -> AnimaCreated:
    """The event that creates an anima from a file set."""
    event_id = uuid7()
    return AnimaCreated(
        id=event_id, anima=name, correlation_id=event_id, producer="cli", source=source, files=files
    )


def register(app: typer.Typer) -> None:
    """Add the anima commands to the ``anima`` app."""

    @app.command()
    def create(
        name: NameArgument,
        template: Annotated[str | None, typer.Option(help=f"Role template: {', '.join(ROLES)}")] = None,
        from_sheet: Annotated[Path | None, typer.Option(help="A character-sheet Markdown file")] = None,
        supervisor: Annotated[str | None, typer.Option(help="The supervising anima")] = None,
        model: Annotated[str | None, typer.Option(help="litellm model name")] = None,
        credential: Annotated[str | None, typer.Option(help="Credential name in config.json")] = None,
        home: HomeOption = None,
        nats_url: NatsUrlOption = None,
    ) -> None:
        """Create an anima: blank, from a role template, or from a character sheet."""
        if template and from_sheet:
            raise typer.BadParameter("use --template or --from-sheet, not both")
        try:
            if from_sheet is not None:
                _, files = parse_character_sheet(from_sheet.read_text(encoding="utf-8"), name=name)
                source = "character-sheet"
            else:
                spec = AnimaSpec(
                    name=name, role=template, supervisor=supervisor, model=model, credential=credential
                )
                files = template_files(spec, template) if template else blank_files(spec)
                source = f"template:{template}" if template else "blank"
        except (CharacterSheetError, ValueError, OSError) as exc:
            raise fail(str(exc)) from None
        event = creation_event(name, files, source)
        with_nats(
            home, nats_url, lambda nc: _change(nc, event, f"created {name} ({source}, {len(files)} files)")
        )

    @app.command("list")
    def list_animas(home: HomeOption = None, nats_url: NatsUrlOption = None) -> None:
        """List the animas that exist."""

        async def show(nc: Client) -> None:
            msg = await nc.request(RPC_MEMORY_ANIMAS, b"{}", timeout=5)
            for anima in msgspec.json.decode(msg.data, type=AnimaListReply).animas:
                state = "enabled" if anima.enabled else "disabled"
                typer.echo(f"{anima.name:<20} {state:<9} role={anima.role or '-'}")

        with_nats(home, nats_url, show)

    @app.command()
    def show(name: NameArgument, home: HomeOption = None, nats_url: NatsUrlOption = None) -> None:
        """Show an anima's status and identity (read through memory-writer)."""

        async def read(nc: Client) -> None:
            for path in ("status.json", "identity.md"):
                reply = await _read(nc, name, MemoryReadRequest(op="read", path=path))
                if not reply.ok:
                    raise fail(f"{name}: {reply.error}")
                typer.echo(f"== {path}\n{reply.content}")
            listing = await _read(nc, name, MemoryReadRequest(op="list"))
            typer.echo("== files\n" + "  ".join(listing.entries))

        with_nats(home, nats_url, read)

    def _status(name: str, enabled: bool, home: Path | None, nats_url: str | None) -> None:
        event_id = uuid7()
        event = AnimaStatusChanged(
            id=event_id, anima=name, correlation_id=event_id, producer="cli", changes={"enabled": enabled}
        )
        word = "enabled" if enabled else "disabled"
        with_nats(home, nats_url, lambda nc: _change(nc, event, f"{name} {word}"))

    @app.command()
    def enable(name: NameArgument, home: HomeOption = None, nats_url: NatsUrlOption = None) -> None:
        """Enable an anima."""
        _status(name, True, home, nats_url)

    @app.command()
    def disable(name: NameArgument, home: HomeOption = None, nats_url: NatsUrlOption = None) -> None:
        """Disable an anima: it stops answering until enabled again."""
        _status(name, False, home, nats_url)

    @app.command()
    def identity(
        name: NameArgument,
        file: Annotated[Path | None, typer.Option(help="The new identity.md")] = None,
        approve: Annotated[
            str | None, typer.Option(help="Apply the identity.proposed with this id (consolidation's)")
        ] = None,
        reason: Annotated[str, typer.Option(help="Why it changes")] = "edited by a person",
        author: Annotated[str | None, typer.Option(help="Who edits or approves it")] = None,
        home: HomeOption = None,
        nats_url: NatsUrlOption = None,
    ) -> None:
        """Replace identity.md as a person (the only path besides consolidation) or approve a proposal."""
        one_of = "give exactly one of --file (a new identity.md) or --approve (a proposal's id)"
        if approve is not None:
            if file is not None:
                raise fail(one_of)
            with_nats(home, nats_url, lambda nc: _approve(nc, name, approve, author or "operator"))
            return
        if file is None:
            raise fail(one_of)
        author = author or "human"
        event_id = uuid7()
        event = IdentityRevised(
            id=event_id,
            anima=name,
            correlation_id=event_id,
            producer="cli",
            content=file.read_text(encoding="utf-8"),
            author=author,
            reason=reason,
        )
        with_nats(home, nats_url, lambda nc: _change(nc, event, f"identity of {name} revised"))

    @app.command()
    def sync(name: NameArgument, home: HomeOption = None, nats_url: NatsUrlOption = None) -> None:
        """Record hand edits of an anima's files as events now (the watcher does it every few seconds)."""

        async def ask(nc: Client) -> None:
            msg = await nc.request(rpc_subject("memory", "sync", name), b"{}", timeout=30)
            reply = msgspec.json.decode(msg.data, type=SyncReply)
            if not reply.ok:
                raise fail(reply.error or "sync failed")
            typer.echo("\n".join(f"recorded edit: {p}" for p in reply.edits) or "no hand edits")

        with_nats(home, nats_url, ask)

    @app.command()
    def reindex(
        anima: Annotated[str | None, typer.Option(help="Only this anima", callback=_optional_name)] = None,
        home: HomeOption = None,
        nats_url: NatsUrlOption = None,
    ) -> None:
        """Rebuild the recall index from the anima files (priming reads them through memory-writer)."""

        async def ask(nc: Client) -> None:
            request = msgspec.json.encode(ReindexRequest(anima=anima))
            msg = await nc.request(RPC_PRIMING_REINDEX, request, timeout=1800)
            reply = msgspec.json.decode(msg.data, type=ReindexReply)
            if not reply.ok:
                raise fail(reply.error or "reindex failed")
            typer.echo(
                f"reindexed {', '.join(reply.animas) or '(none)'}: {reply.files} files, {reply.chunks} chunks"
            )

        with_nats(home, nats_url, ask)

    @app.command()
    def search(
        name: NameArgument,
        query: Annotated[str, typer.Argument(help="What to look for")],
        scope: Annotated[
            str, typer.Option(help="knowledge, episodes, procedures, skills, activity or all")
        ] = "all",
        limit: Annotated[int, typer.Option(help="Most results")] = 10,
        home: HomeOption = None,
        nats_url: NatsUrlOption = None,
    ) -> None:
        """Search an anima's memory as its search_memory tool does."""

        async def ask(nc: Client) -> None:
            request = msgspec.json.encode(SearchRequest(query=query, scope=scope, limit=limit))
            msg = await nc.request(rpc_subject("priming", "search", name), request, timeout=30)
            reply = msgspec.json.decode(msg.data, type=SearchReply)
            if reply.error:
                raise fail(reply.error)
            for hit in reply.hits:
                typer.echo(f"{hit.score:7.4f}  {hit.path}  {hit.date or '':<10}  {hit.snippet[:100]}")

        with_nats(home, nats_url, ask)

    @app.command("export")
    def export(
        name: NameArgument,
        output: Annotated[Path | None, typer.Option("-o", "--output", help="Archive to write")] = None,
        home: HomeOption = None,
        nats_url: NatsUrlOption = None,
    ) -> None:
        """Write an anima's directory to one archive, after every pending change is applied."""
        target = output or Path(f"{name}.anima.tar.gz")
        where = home_of(home)

        async def run(nc: Client) -> None:
            await _settle(nc, name)
            count = await asyncio.to_thread(export_anima, where.anima_dir(name), target)
            typer.echo(f"exported {name}: {count} files to {target}")

        if not (where.anima_dir(name) / "status.json").exists():
            raise fail(f"no anima named {name!r} under {where.root}")
        with_nats(home, nats_url, run)

    @app.command("import")
    def import_(
        archive: Annotated[Path, typer.Argument(help="An archive made by `anima export`")],
        name: Annotated[str | None, typer.Option(help="Import under another name")] = None,
        home: HomeOption = None,
        nats_url: NatsUrlOption = None,
    ) -> None:
        """Bring an exported anima into this home, recorded as a snapshot event."""
        try:
            final, files, snapshot = read_export(archive, name)
        except (ImportError_, InvalidAnimaName, OSError, ValueError) as exc:
            raise fail(str(exc)) from None

        async def run(nc: Client) -> None:
            blobs = await _store_large(nc, files)
            event = import_event(final, files, snapshot, blobs=blobs)
            await _change(nc, event, f"imported {final} ({len(files)} files)")

        with_nats(home, nats_url, run)


async def _read(nc: Client, name: str, request: MemoryReadRequest) -> MemoryReadReply:
    msg = await nc.request(rpc_subject("memory", "read", name), msgspec.json.encode(request), timeout=10)
    return msgspec.json.decode(msg.data, type=MemoryReadReply)


async def _settle(nc: Client, name: str, timeout_s: float = 60.0) -> None:
    """Wait until memory-writer has applied everything stored, then record any hand edits."""
    js = nc.jetstream()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        try:
            info = await js.consumer_info(ACTIVITY_STREAM, "memory-writer-activity")
        except NotFoundError:
            break
        if info.num_pending == 0 and info.num_ack_pending == 0:
            break
        if loop.time() > deadline:
            raise NoAnswer(f"memory-writer still has {info.num_pending} events to apply")
        await asyncio.sleep(0.1)
    msg = await nc.request(rpc_subject("memory", "sync", name), b"{}", timeout=30)
    reply = msgspec.json.decode(msg.data, type=SyncReply)
    if reply.edits:
        # The edits were just published: let memory-writer apply them before archiving.
        await _settle_events(nc)


async def _settle_events(nc: Client) -> None:
    js = nc.jetstream()
    for _ in range(600):
        info = await js.consumer_info(ACTIVITY_STREAM, "memory-writer-activity")
        if info.num_pending == 0 and info.num_ack_pending == 0:
            return
        await asyncio.sleep(0.1)


async def _store_large(nc: Client, files: dict[str, bytes]) -> dict[str, str]:
    store = await nc.jetstream().object_store(BODIES_BUCKET)
    blobs: dict[str, str] = {}
    for path, data in files.items():
        if len(data) > INLINE_LIMIT:
            ref = "sha256:" + hashlib.sha256(data).hexdigest()
            await store.put(ref.replace(":", "-"), data)
            blobs[path] = ref
    return blobs
