"""The real ports: the system or a file clock, the ``SCHEDULES`` bucket, the activity stream."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from animas_contracts import Event
from animas_contracts.subjects import ACTIVITY_STREAM, SCHEDULES_BUCKET
from animas_core.streams import event_stored_after
from animas_scheduler.ports import Clock, Entry


class SystemClock:
    """The machine's clock: production."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FileClock:
    """A clock a test controls: ``{"now": "<ISO 8601>"}`` in a file, read at every call.

    Replicas that share the file share one simulated time, which a test advances over a whole
    day in seconds. An unreadable file (being replaced) keeps the last time read.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._last = datetime.now(UTC)

    def now(self) -> datetime:
        try:
            moment = datetime.fromisoformat(json.loads(self._path.read_text(encoding="utf-8"))["now"])
        except (OSError, ValueError, KeyError, TypeError):
            return self._last
        if moment.tzinfo is None:
            raise ValueError(f"{self._path}: 'now' must carry a UTC offset, got {moment.isoformat()}")
        self._last = moment.astimezone(UTC)
        return self._last


class OffsetClock:
    """Another clock, off by a fixed amount (a replica whose clock is minutes behind)."""

    def __init__(self, clock: Clock, offset_s: float) -> None:
        self._clock = clock
        self._offset = timedelta(seconds=offset_s)

    def now(self) -> datetime:
        return self._clock.now() + self._offset


class KvClaimStore:
    """The ``SCHEDULES`` KV bucket (history 1, ``SCHEDULES_TTL_S``; provisioned by core streams)."""

    def __init__(self, js: JetStreamContext) -> None:
        self._js = js
        self._kv: KeyValue | None = None

    async def _bucket(self) -> KeyValue:
        # Looked up once: every lookup is a request to the server.
        if self._kv is None:
            self._kv = await self._js.key_value(SCHEDULES_BUCKET)
        return self._kv

    async def get(self, key: str) -> Entry | None:
        kv = await self._bucket()
        try:
            entry = await kv.get(key)
        except KeyNotFoundError:
            return None
        return Entry(entry.value or b"", entry.revision or 0)

    async def create(self, key: str, value: bytes) -> int | None:
        kv = await self._bucket()
        try:
            return await kv.create(key, value)
        except KeyWrongLastSequenceError:
            return None

    async def update(self, key: str, value: bytes, revision: int) -> int | None:
        kv = await self._bucket()
        try:
            return await kv.update(key, value, last=revision)
        except KeyWrongLastSequenceError:
            return None


class StreamLedger:
    """The activity stream, asked by headers only (:func:`animas_core.streams.event_stored_after`)."""

    def __init__(self, js: JetStreamContext) -> None:
        self._js = js

    async def last_seq(self) -> int:
        return int((await self._js.stream_info(ACTIVITY_STREAM)).state.last_seq)

    async def stored(self, event: Event, after_seq: int) -> bool:
        return await event_stored_after(
            self._js, anima=event.anima, event_type=event.event_type, event_id=event.id, after_seq=after_seq
        )
