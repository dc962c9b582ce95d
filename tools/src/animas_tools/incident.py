"""The incident file: one correlation's events in one self-contained JSON document.

``anima incident export --correlation-id C -o FILE`` writes it; ``anima replay incident FILE``
replays every cycle in it offline, with no broker. The file holds every stored event of the
correlation (every anima it reached) in stream order, with the bodies the object store kept
(system prompts, cycle recipes, model requests and responses) put back inline. Nothing else is
needed: a cycle's recipe in ``cycle.started`` holds every input its prompt was built from (the
anima's files as read at the time, what priming returned, the clock), so no anima directory
travels with it.

The format is versioned (``version``); a reader refuses a version newer than it knows. Version
1 is pinned by a committed sample (``tests/fixtures/incident-v1.json``).
"""

from __future__ import annotations

import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec
from nats.js import JetStreamContext

from animas_contracts.subjects import ACTIVITY_STREAM
from animas_tools.cycle_replay import inline_bodies
from animas_tools.events import read_activity

INCIDENT_FORMAT = "animaworks-incident"
INCIDENT_VERSION = 1


class IncidentError(Exception):
    """The incident cannot be exported or the file cannot be read."""


class IncidentEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One stored event: where it was in the stream and its JSON, bodies inlined."""

    seq: int
    subject: str
    event: dict[str, Any]


class Incident(msgspec.Struct, frozen=True, kw_only=True):
    """The whole file."""

    format: str
    version: int
    correlation_id: str
    exported_at: datetime
    stream: str
    animas: list[str]
    events: list[IncidentEvent]

    def event_lines(self) -> list[bytes]:
        """The events as the replayer reads them: one JSON document each, oldest first."""
        return [msgspec.json.encode(e.event) for e in self.events]


async def export_incident(js: JetStreamContext, correlation_id: str, at: datetime) -> Incident:
    """Every stored event of ``correlation_id``, bodies inlined.

    Raises:
        IncidentError: no stored event has that correlation id.
    """
    events: list[IncidentEvent] = []
    animas: list[str] = []
    async for stored in read_activity(js):
        event = stored.event
        if event is None or event.correlation_id != correlation_id:
            continue
        raw = await inline_bodies(js, stored.raw)
        events.append(IncidentEvent(seq=stored.seq, subject=stored.subject, event=msgspec.json.decode(raw)))
        if event.anima not in animas:
            animas.append(event.anima)
    if not events:
        raise IncidentError(f"no stored event has the correlation id {correlation_id}")
    return Incident(
        format=INCIDENT_FORMAT,
        version=INCIDENT_VERSION,
        correlation_id=correlation_id,
        exported_at=at,
        stream=ACTIVITY_STREAM,
        animas=animas,
        events=events,
    )


def write_incident(incident: Incident, path: Path) -> None:
    """Write the file whole or not at all (temp file and rename)."""
    data = msgspec.json.format(msgspec.json.encode(incident)) + b"\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def read_incident(path: Path) -> Incident:
    """An incident file.

    Raises:
        IncidentError: not an incident file, or one of a version this build does not read.
    """
    try:
        data = path.read_bytes()
        head = msgspec.json.decode(data, type=dict[str, Any])
    except (OSError, msgspec.DecodeError) as exc:
        raise IncidentError(f"{path}: not readable as JSON ({exc})") from None
    if head.get("format") != INCIDENT_FORMAT:
        raise IncidentError(f"{path}: not an incident file (format {head.get('format')!r})")
    version = head.get("version")
    if not isinstance(version, int) or version > INCIDENT_VERSION:
        raise IncidentError(
            f"{path}: incident format version {version!r}; this build reads up to {INCIDENT_VERSION}"
        )
    try:
        return msgspec.json.decode(data, type=Incident)
    except msgspec.ValidationError as exc:
        raise IncidentError(f"{path}: malformed incident file ({exc})") from None
