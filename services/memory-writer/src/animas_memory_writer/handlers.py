"""memory-writer's event handling: project every event, apply changes, answer, rebuild on request."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Mapping
from typing import Any

import msgspec
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from animas_contracts import (
    AnimaCreated,
    ContractError,
    Event,
    MemoryOpApplied,
    MemoryOpRejected,
    RebuildReply,
    RebuildRequest,
    derive_id,
    validate_anima_name,
)
from animas_contracts.names import InvalidAnimaName
from animas_contracts.subjects import BODIES_BUCKET, stored_activity_filter
from animas_core.broker import EventSink
from animas_core.errors import PoisonMessage, RetryableError
from animas_core.policy import Delivery
from animas_core.provenance import decode_delivered
from animas_core.streams import read_stored
from animas_memory_writer.adapters.activity_log import ActivityLogFiles
from animas_memory_writer.applier import MemoryApplier, Outcome
from animas_memory_writer.domain import day_of, entry_for

_log = logging.getLogger(__name__)
PRODUCER = "memory-writer"


def outcome_event(cause: Event, outcome: Outcome) -> Event:
    """The answer to a change: derived from its id, so a repeat answer is the same event."""
    common: dict[str, Any] = {
        "anima": cause.anima,
        "correlation_id": cause.correlation_id,
        "causation_id": cause.id,
        "producer": PRODUCER,
        "op_id": cause.id,
        "kind": outcome.kind,
    }
    if outcome.applied:
        return MemoryOpApplied(id=derive_id(cause.id, "applied"), paths=list(outcome.paths), **common)
    return MemoryOpRejected(id=derive_id(cause.id, "rejected"), reason=outcome.reason or "", **common)


class Projector:
    """Keeps every anima directory in step with the stream; owns the lock a rebuild takes."""

    def __init__(
        self, files: ActivityLogFiles, applier: MemoryApplier, js: JetStreamContext, publisher: EventSink
    ) -> None:
        self.files = files
        self.applier = applier
        self._js = js
        self._publisher = publisher
        self.lock = asyncio.Lock()
        """Held while projecting one event, while scanning for hand edits, and for a whole rebuild."""

    async def __call__(self, data: bytes, delivery: Delivery) -> None:
        """Project one delivered event and answer it if it asked for a change."""
        event = decode_delivered(delivery.subject, data)
        try:
            validate_anima_name(event.anima)
        except InvalidAnimaName as exc:
            raise PoisonMessage(str(exc)) from None
        blobs = await self.fetch_blobs(event)
        async with self.lock:
            outcome = await asyncio.to_thread(self.project, event, blobs)
        if outcome is not None:
            if not outcome.applied:
                _log.info("change rejected", extra={"op_id": event.id, "reason": outcome.reason})
            await self._publisher.publish(outcome_event(event, outcome))

    def project(self, event: Event, blobs: Mapping[str, bytes] | None = None) -> Outcome | None:
        """Apply an event to disk: its activity-log entry, then its change (if it is one)."""
        outcome = self.applier.apply(event, blobs)
        entry = entry_for(event)
        if entry is not None:
            self.files.append(event.anima, day_of(event, self.applier.timezone(event.anima)), entry)
        return outcome

    async def fetch_blobs(self, event: Event) -> dict[str, bytes]:
        """Large files of an import, from the object store."""
        if not isinstance(event, AnimaCreated) or not event.blobs:
            return {}
        store = await self._js.object_store(BODIES_BUCKET)
        out: dict[str, bytes] = {}
        for path, ref in event.blobs.items():
            try:
                result = await store.get(ref.replace(":", "-"))
            except Exception as exc:
                raise RetryableError(f"could not fetch {ref} for {path}: {exc!r}") from exc
            out[path] = result.data or b""
        return out


class Rebuilder:
    """Rebuilds anima directories from the stream alone: pause, wipe, replay, resume."""

    def __init__(self, projector: Projector, js: JetStreamContext, batch: int) -> None:
        self._projector = projector
        self._js = js
        self._batch = batch

    async def on_request(self, msg: Msg) -> None:
        """Answer a ``rpc.memory.rebuild`` request."""
        try:
            request = msgspec.json.decode(msg.data or b"{}", type=RebuildRequest)
            if request.anima is not None:
                validate_anima_name(request.anima)
            reply = await self.rebuild(request.anima)
        except (msgspec.DecodeError, InvalidAnimaName) as exc:
            reply = RebuildReply(ok=False, error=f"bad rebuild request: {exc}")
        except Exception as exc:
            _log.exception("rebuild failed")
            reply = RebuildReply(ok=False, error=f"rebuild failed: {exc!r}")
        await msg.respond(msgspec.json.encode(reply))

    async def rebuild(self, anima: str | None) -> RebuildReply:
        """Replay every stored event (of one anima, or all) into fresh directories."""
        async with self._projector.lock:
            targets = [anima] if anima else self._projector.files.animas()
            for name in targets:
                await asyncio.to_thread(self._projector.applier.reset, name)
            if anima is None:
                await asyncio.to_thread(self._projector.applier.boards.reset)
            # Only the targets' directories were wiped; other animas' files stay as they are.
            self._projector.files.forget()
            replayed = await self._replay(anima)
            files = sum(self._projector.files.file_count(a) for a in replayed.animas)
        _log.info(
            "rebuilt from the stream",
            extra={"events": replayed.events, "animas": sorted(replayed.animas), "refused": replayed.refused},
        )
        return RebuildReply(
            ok=True,
            animas=sorted(replayed.animas),
            events=replayed.events,
            files=files,
            refused=replayed.refused,
            refusals=replayed.refusals,
        )

    async def _replay(self, anima: str | None) -> _Replayed:
        replayed = _Replayed()
        async for msg in read_stored(self._js, stored_activity_filter(anima=anima or "*"), batch=self._batch):
            try:
                event = decode_delivered(msg.subject, msg.data)
                validate_anima_name(event.anima)
            except (ContractError, InvalidAnimaName) as exc:
                # The live path dead-lettered it; the rebuild refuses it the same way.
                replayed.refuse(f"seq {msg.metadata.sequence.stream}: {exc}")
                continue
            blobs = await self._projector.fetch_blobs(event)
            await asyncio.to_thread(self._projector.project, event, blobs)
            replayed.events += 1
            replayed.animas.add(event.anima)
        return replayed


@dataclasses.dataclass
class _Replayed:
    """What a rebuild's replay did."""

    events: int = 0
    animas: set[str] = dataclasses.field(default_factory=set)
    refused: int = 0
    refusals: list[str] = dataclasses.field(default_factory=list)

    def refuse(self, reason: str) -> None:
        self.refused += 1
        if len(self.refusals) < _REFUSALS_SHOWN:
            self.refusals.append(reason)


_REFUSALS_SHOWN = 5
