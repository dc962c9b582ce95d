"""``anima replay consolidate NAME --from DATE [--to DATE]``: re-run recorded consolidation offline.

The replay belongs to the consolidator (it owns the prompt, the checks and the planner); this
side only reads. It takes the anima's consolidation records from the stream (runs, their plans
with the inputs they decided from, the recorded model calls and the memory requests), inlines
the bodies kept in the object store, writes the anima's knowledge as it is today into a folder,
and pipes the events as JSON lines into ``python -m animas_consolidator.replay``, which needs no
broker, no model and no anima files. The replayed knowledge lands in a shadow folder; the
anima's own memory is not touched.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import msgspec
import typer
from nats.aio.client import Client
from nats.js import JetStreamContext

from animas_contracts import (
    ConsolidationPlanned,
    ConsolidationStarted,
    LlmCalled,
    MemoryOpRequested,
)
from animas_core.memory_client import MemoryClient
from animas_tools.animas_cli import NameArgument
from animas_tools.cli_support import fail, with_nats
from animas_tools.cycle_replay import CycleNotFound, stored_body
from animas_tools.events import read_activity
from animas_tools.schedule_cli import HomeOption, NatsUrlOption

REPLAYER = "animas_consolidator.replay"
PRODUCER = "consolidator"
KNOWLEDGE = "knowledge/"
_BODY_FIELDS = {"consolidation.planned": "inputs", "llm.called": "request"}


async def consolidation_events(js: JetStreamContext, anima: str) -> list[bytes]:
    """The anima's stored consolidation records, oldest first, bodies inlined."""
    kept: list[bytes] = []
    async for stored in read_activity(js, anima=anima):
        event = stored.event
        of_a_run = isinstance(event, ConsolidationStarted | ConsolidationPlanned)
        if of_a_run or (isinstance(event, LlmCalled | MemoryOpRequested) and event.producer == PRODUCER):
            kept.append(await _inlined(js, stored.raw))
    return kept


async def _inlined(js: JetStreamContext, raw: bytes) -> bytes:
    payload: dict[str, Any] = msgspec.json.decode(raw)
    field = _BODY_FIELDS.get(str(payload.get("type")))
    body = payload.get(field) if field else None
    if isinstance(body, dict) and body.get("stored") and body.get("inline") is None:
        body["inline"] = msgspec.json.decode(await stored_body(js, str(body["digest"])))
        return msgspec.json.encode(payload)
    return raw


async def write_today(files: MemoryClient, anima: str, folder: Path) -> int:
    """Write the anima's knowledge files as memory-writer has them now under ``folder``."""
    written = 0
    for path in sorted(await files.tree(anima)):
        if not path.startswith(KNOWLEDGE) or ".." in path.split("/"):
            continue
        text = await files.read(anima, path)
        if text is None:
            continue
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written += 1
    return written


def run_replayer(
    anima: str, first: date, last: date, events: list[bytes], today: Path, shadow: Path
) -> subprocess.CompletedProcess[str]:
    """Run the consolidator's replayer on ``events``; its report is on stdout."""
    command = [sys.executable, "-m", REPLAYER, anima, first.isoformat(), last.isoformat()]
    return subprocess.run(
        [*command, "--today", str(today), "--shadow", str(shadow)],
        input=b"\n".join(events).decode(),
        capture_output=True,
        text=True,
        check=False,
    )


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date; use YYYY-MM-DD") from None


def register(replay: typer.Typer) -> None:
    """Add ``consolidate`` to ``anima replay``."""

    @replay.command("consolidate")
    def replay_consolidate(
        name: NameArgument,
        first: Annotated[str, typer.Option("--from", help="First day to re-consolidate, YYYY-MM-DD")],
        last: Annotated[str | None, typer.Option("--to", help="Last day (default: the --from day)")] = None,
        shadow: Annotated[
            Path | None, typer.Option(help="Empty folder for the replayed knowledge (default: a new one)")
        ] = None,
        home: HomeOption = None,
        nats_url: NatsUrlOption = None,
    ) -> None:
        """Re-run the daily consolidations of some days with this build, offline, and diff the result.

        Recorded model answers are reused; a changed consolidation prompt is shown as a diff. The
        knowledge the runs produce goes to a shadow folder and is compared with the anima's today.
        """
        start, end = _day(first), _day(last) if last else _day(first)
        if end < start:
            raise fail(f"--to {end} is before --from {start}")
        if shadow is not None and shadow.exists() and any(shadow.iterdir()):
            raise fail(f"{shadow} is not empty; the shadow folder must be new or empty")
        target = shadow or Path(tempfile.mkdtemp(prefix=f"anima-replay-{name}-"))
        events: list[bytes] = []
        with tempfile.TemporaryDirectory(prefix="anima-today-") as today:

            async def gather(nc: Client) -> None:
                events.extend(await consolidation_events(nc.jetstream(), name))
                await write_today(MemoryClient(nc), name, Path(today))

            try:
                with_nats(home, nats_url, gather)
            except CycleNotFound as exc:
                raise fail(str(exc)) from None
            result = run_replayer(name, start, end, events, Path(today), target)
        typer.echo(result.stdout, nl=False)
        if result.returncode != 0:
            raise fail(result.stderr.strip() or f"the replayer exited with {result.returncode}")
        typer.echo(f"shadow: {target}")
