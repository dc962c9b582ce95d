"""memory-writer handlers: project activity events into JSONL, and rebuild on request."""

from __future__ import annotations

import asyncio
import logging

import msgspec
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from animas_contracts import (
    ContractError,
    Event,
    RebuildReply,
    RebuildRequest,
    decode_event,
    validate_anima_name,
)
from animas_contracts.names import InvalidAnimaName
from animas_contracts.subjects import ACTIVITY_STREAM, stored_activity_filter
from animas_core.config import CachedConfig
from animas_core.errors import PoisonMessage
from animas_core.policy import Delivery
from animas_memory_writer.adapters.activity_log import ActivityLogFiles
from animas_memory_writer.domain import day_of, entry_for

_log = logging.getLogger(__name__)


class ActivityProjector:
    """Keeps ``activity_log/`` in step with the stream; owns the lock a rebuild takes."""

    def __init__(self, files: ActivityLogFiles, config: CachedConfig) -> None:
        self._files = files
        self._config = config
        self.lock = asyncio.Lock()
        """Held while projecting one event, and for the whole of a rebuild (the pause)."""

    async def __call__(self, data: bytes, delivery: Delivery) -> None:
        """Project one delivered event."""
        event = decode_event(data)
        try:
            validate_anima_name(event.anima)
        except InvalidAnimaName as exc:
            raise PoisonMessage(str(exc)) from None
        async with self.lock:
            await asyncio.to_thread(self.project, event)

    def project(self, event: Event) -> bool:
        """Append the event's entry if it has one and it is not there yet."""
        entry = entry_for(event)
        if entry is None:
            return False
        timezone = self._config.get().system.timezone
        return self._files.append(event.anima, day_of(event, timezone), entry)


class Rebuilder:
    """Rebuilds the JSONL projection from the stream: pause, reset, replay, resume."""

    def __init__(
        self, projector: ActivityProjector, files: ActivityLogFiles, js: JetStreamContext, batch: int
    ) -> None:
        self._projector = projector
        self._files = files
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
        """Replay every stored event (of one anima, or all) into fresh files."""
        async with self._projector.lock:
            info = await self._js.stream_info(ACTIVITY_STREAM)
            last_seq = info.state.last_seq
            await asyncio.to_thread(self._files.reset, anima)
            events, animas = await self._replay(anima, last_seq)
            files = sum(self._files.file_count(a) for a in animas)
        _log.info("activity log rebuilt", extra={"events": events, "animas": sorted(animas)})
        return RebuildReply(ok=True, animas=sorted(animas), events=events, files=files)

    async def _replay(self, anima: str | None, last_seq: int) -> tuple[int, set[str]]:
        events = 0
        animas: set[str] = set()
        if last_seq == 0:
            return events, animas
        config = ConsumerConfig(
            deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE, inactive_threshold=60.0
        )
        subject = stored_activity_filter(anima=anima or "*")
        sub = await self._js.pull_subscribe(subject, stream=ACTIVITY_STREAM, config=config)
        try:
            while True:
                try:
                    batch = await sub.fetch(self._batch, timeout=2.0)
                except TimeoutError:
                    break
                for msg in batch:
                    if msg.metadata.sequence.stream > last_seq:
                        return events, animas
                    try:
                        event = decode_event(msg.data)
                    except ContractError:
                        continue  # the live path dead-lettered it; the rebuild stays consistent
                    if await asyncio.to_thread(self._projector.project, event):
                        events += 1
                        animas.add(event.anima)
                if batch[-1].metadata.sequence.stream >= last_seq or batch[-1].metadata.num_pending == 0:
                    break
        finally:
            await sub.unsubscribe()
        return events, animas
