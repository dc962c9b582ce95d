"""memory-writer's event handling: project every event, apply changes, answer, rebuild on request.

A rebuild starts each anima from its newest trusted snapshot (:mod:`animas_memory_writer.snapshots`)
and replays only what came after it, unless the request asks for a full replay.
"""

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
    type_tag,
    validate_anima_name,
)
from animas_contracts.names import InvalidAnimaName
from animas_contracts.subjects import (
    BODIES_BUCKET,
    HEADER_MSG_ID,
    split_stored_activity_subject,
    stored_activity_filter,
)
from animas_core.broker import EventSink
from animas_core.errors import PoisonMessage, RetryableError
from animas_core.policy import Delivery
from animas_core.provenance import decode_delivered
from animas_core.streams import read_stored
from animas_memory_writer.adapters.activity_log import ActivityLogFiles
from animas_memory_writer.adapters.boards import BOARD_EVENTS
from animas_memory_writer.applier import MemoryApplier, Outcome
from animas_memory_writer.domain import day_of, entry_for
from animas_memory_writer.snapshots import Snapshots

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
        self,
        files: ActivityLogFiles,
        applier: MemoryApplier,
        js: JetStreamContext,
        publisher: EventSink,
        snapshots: Snapshots,
    ) -> None:
        self.files = files
        self.applier = applier
        self._js = js
        self._publisher = publisher
        self.snapshots = snapshots
        self.lock = asyncio.Lock()
        """Held while projecting one event, while scanning for hand edits, and for a whole rebuild."""
        self.last: tuple[int, str | None] | None = None
        """Stream sequence and id of the last event projected live (every earlier one is projected too)."""

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
            if delivery.stream_seq is not None:
                self.last = (delivery.stream_seq, delivery.headers.get(HEADER_MSG_ID))
                if self.snapshots.counted(event.anima):
                    await self.snapshot(event.anima, *self.last)
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

    async def snapshot(self, anima: str, seq: int, event_id: str | None) -> int | None:
        """Snapshot one anima (lock held); a failure is logged, never stops the projection."""
        try:
            return await asyncio.to_thread(self.snapshots.take, anima, seq, event_id)
        except Exception:
            _log.exception("snapshot failed", extra={"anima": anima, "seq": seq})
            return None

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
            reply = await self.rebuild(request.anima, full=request.full)
        except (msgspec.DecodeError, InvalidAnimaName) as exc:
            reply = RebuildReply(ok=False, error=f"bad rebuild request: {exc}")
        except Exception as exc:
            _log.exception("rebuild failed")
            reply = RebuildReply(ok=False, error=f"rebuild failed: {exc!r}")
        await msg.respond(msgspec.json.encode(reply))

    async def rebuild(self, anima: str | None, *, full: bool = False) -> RebuildReply:
        """Replay stored events (of one anima, or all) into fresh directories.

        Unless ``full``, each anima starts from its newest trusted snapshot and only its later
        events are projected. One anima's replay reads from after its snapshot; a rebuild of
        all reads the whole stream, because the shared boards projection is reset and rebuilt
        from every board event, but projects an anima's event only past its snapshot.
        """
        projector = self._projector
        snapshots = projector.snapshots
        async with projector.lock:
            targets = [anima] if anima else sorted({*projector.files.animas(), *snapshots.files.animas()})
            restored: dict[str, int] = {}
            fallbacks: list[str] = []
            for name in targets:
                await asyncio.to_thread(projector.applier.reset, name)
                snapshots.forget(name)
                seq = None if full else await snapshots.restore_latest(name, fallbacks)
                if seq is None:
                    await asyncio.to_thread(projector.applier.reset, name)
                else:
                    restored[name] = seq
            if anima is None:
                await asyncio.to_thread(projector.applier.boards.reset)
            # Only the targets' directories were wiped; other animas' files stay as they are.
            projector.files.forget()
            replayed = await self._replay(anima, restored)
            for name, (seq, event_id) in replayed.last.items():
                if snapshots.counted(name, replayed.per_anima[name]):
                    await projector.snapshot(name, seq, event_id)
            files = sum(projector.files.file_count(a) for a in replayed.animas | restored.keys())
        _log.info(
            "rebuilt from the stream",
            extra={
                "events": replayed.events,
                "animas": sorted(replayed.animas),
                "refused": replayed.refused,
                "restored": restored,
            },
        )
        return RebuildReply(
            ok=True,
            animas=sorted(replayed.animas | restored.keys()),
            events=replayed.events,
            files=files,
            refused=replayed.refused,
            refusals=replayed.refusals,
            restored=restored,
            fallbacks=fallbacks,
        )

    async def _replay(self, anima: str | None, restored: dict[str, int]) -> _Replayed:
        replayed = _Replayed()
        start = restored.get(anima, 0) + 1 if anima else 1
        subject = stored_activity_filter(anima=anima or "*")
        async for msg in read_stored(self._js, subject, start_seq=start, batch=self._batch):
            seq = msg.metadata.sequence.stream
            if _snapshot_only(msg.subject, seq, restored):
                continue
            try:
                event = decode_delivered(msg.subject, msg.data)
                validate_anima_name(event.anima)
            except (ContractError, InvalidAnimaName) as exc:
                # The live path dead-lettered it; the rebuild refuses it the same way.
                replayed.refuse(f"seq {msg.metadata.sequence.stream}: {exc}")
                continue
            if seq <= restored.get(event.anima, 0):
                # In the anima's snapshot already; only the shared boards still need it.
                if isinstance(event, BOARD_EVENTS):
                    await asyncio.to_thread(self._projector.applier.boards.apply, event)
                continue
            blobs = await self._projector.fetch_blobs(event)
            await asyncio.to_thread(self._projector.project, event, blobs)
            replayed.count(event.anima, seq, (msg.headers or {}).get(HEADER_MSG_ID))
        return replayed


@dataclasses.dataclass
class _Replayed:
    """What a rebuild's replay did."""

    events: int = 0
    animas: set[str] = dataclasses.field(default_factory=set)
    refused: int = 0
    refusals: list[str] = dataclasses.field(default_factory=list)
    per_anima: dict[str, int] = dataclasses.field(default_factory=dict)
    last: dict[str, tuple[int, str | None]] = dataclasses.field(default_factory=dict)
    """Sequence and id of each anima's last projected event (where a snapshot after the rebuild sits)."""

    def count(self, anima: str, seq: int, event_id: str | None) -> None:
        self.events += 1
        self.animas.add(anima)
        self.per_anima[anima] = self.per_anima.get(anima, 0) + 1
        self.last[anima] = (seq, event_id)

    def refuse(self, reason: str) -> None:
        self.refused += 1
        if len(self.refusals) < _REFUSALS_SHOWN:
            self.refusals.append(reason)


_REFUSALS_SHOWN = 5
_BOARD_TYPES = frozenset(type_tag(cls) for cls in BOARD_EVENTS)


def _snapshot_only(subject: str, seq: int, restored: dict[str, int]) -> bool:
    """Whether a stored event is in its anima's snapshot and no board needs it (not even decoded)."""
    try:
        _, anima, event_type = split_stored_activity_subject(subject)
    except ValueError:
        return False
    return seq <= restored.get(anima, 0) and event_type not in _BOARD_TYPES
