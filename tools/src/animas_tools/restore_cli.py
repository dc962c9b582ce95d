"""``anima restore NAME PATH``: bring a forgotten (archived) memory back.

The restore is a ``memory.restore`` operation published as the operator: memory-writer moves the
file back from ``archive/``, clears its low-activity mark and counts the restore as a recall, so
the next daily run does not forget it again at once; priming indexes it again on the applied
event. The command waits for priming to catch up, so a search right after finds the memory.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from nats.aio.client import Client

from animas_contracts import InvalidAnimaName, MemoryOpApplied, MemoryOpRequested, RestoreMemory, uuid7
from animas_contracts import validate_anima_name as _valid
from animas_tools.cli_support import fail, with_nats
from animas_tools.index_lag import index_lag
from animas_tools.publish import NoAnswer, publish_change

ARCHIVE = "archive/"
INDEX_WAIT_S = 60.0


def _name(value: str) -> str:
    try:
        return _valid(value)
    except InvalidAnimaName as exc:
        raise typer.BadParameter(str(exc)) from None


def original_path(path: str) -> str:
    """The memory's own path, whether given as it was or as it lies in the archive."""
    clean = path.strip()
    clean = clean[2:] if clean.startswith("./") else clean
    return clean[len(ARCHIVE) :] if clean.startswith(ARCHIVE) else clean


def restore_event(name: str, path: str) -> MemoryOpRequested:
    """The operation that moves ``archive/<path>`` back to ``<path>``."""
    event_id = uuid7()
    return MemoryOpRequested(
        id=event_id, anima=name, correlation_id=event_id, producer="cli", op=RestoreMemory(path=path)
    )


async def wait_for_index(nc: Client, timeout_s: float = INDEX_WAIT_S) -> bool:
    """Whether priming applied every stored change within the time (False: it is still behind)."""
    js = nc.jetstream()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        lag = await index_lag(js)
        if not lag.durables:
            return False  # no priming running: nothing to wait for
        if lag.caught_up:
            return True
        await asyncio.sleep(0.1)
    return False


def register(app: typer.Typer) -> None:
    """Add ``restore`` to the ``anima`` app."""

    @app.command()
    def restore(
        name: Annotated[str, typer.Argument(help="The anima's name", callback=_name)],
        path: Annotated[str, typer.Argument(help="The forgotten memory, e.g. knowledge/printer.md")],
        home: Annotated[Path | None, typer.Option("--home", help="AnimaWorks home")] = None,
        nats_url: Annotated[
            str | None, typer.Option("--nats-url", help="NATS to use instead of the running system's")
        ] = None,
    ) -> None:
        """Bring a forgotten memory back from the archive; search finds it again."""
        target = original_path(path)

        async def run(nc: Client) -> None:
            try:
                answer = await publish_change(nc, restore_event(name, target))
            except NoAnswer as exc:
                raise fail(str(exc)) from None
            if not isinstance(answer, MemoryOpApplied):
                raise fail(f"not restored: {answer.reason}")
            indexed = await wait_for_index(nc)
            typer.echo(
                f"restored {target} for {name}" + ("" if indexed else " (the index is still catching up)")
            )

        with_nats(home, nats_url, run)
