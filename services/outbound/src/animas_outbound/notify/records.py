"""What outbound remembers about notifications, in the ``NOTIFICATIONS`` KV bucket.

Two kinds of key:

- ``out.<request>.<channel>``: a channel's outcome for one request (delivered or failed), written
  after its event is published, so a redelivered request skips the channels already settled and
  a SIGKILL between two channels sends neither twice;
- ``first.<anima>.<dedup key>``: the first request of a notification and its event time, for the
  24-hour rule (the request's own ``ts``, never the wall clock, so a replay decides alike).

``anima status`` lists the failed outcomes (:func:`animas_core.notify_records.failed_outcomes`).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError

from animas_contracts.subjects import NOTIFICATIONS_BUCKET
from animas_core.notify_records import ChannelOutcome, first_key, outcome_key

REPEAT_WINDOW = timedelta(hours=24)
"""The same notification from the same anima within this is sent once (seed 003 §4.10)."""


def repeat_of(first_id: str, first_ts: datetime, request_id: str, ts: datetime) -> str | None:
    """The earlier request this one repeats within :data:`REPEAT_WINDOW`; None when it is new."""
    if first_id == request_id:
        return None
    return first_id if timedelta(0) <= ts - first_ts < REPEAT_WINDOW else None


class NotifyStore(Protocol):
    """Per-channel outcomes and first requests (the KV bucket; a dict in unit tests)."""

    async def outcome(self, request_id: str, channel: str) -> ChannelOutcome | None: ...

    async def record(self, outcome: ChannelOutcome) -> None: ...

    async def claim(self, anima: str, dedup_key: str, request_id: str, ts: datetime) -> str | None:
        """Make this request the first of its notification unless one within 24 h is; return that one."""
        ...


class KvNotifyStore:
    """:class:`NotifyStore` over the ``NOTIFICATIONS`` bucket (one consumer, one request at a time)."""

    def __init__(self, js: Callable[[], JetStreamContext]) -> None:
        self._js_of = js

    @property
    def _js(self) -> JetStreamContext:
        return self._js_of()

    async def outcome(self, request_id: str, channel: str) -> ChannelOutcome | None:
        kv = await self._js.key_value(NOTIFICATIONS_BUCKET)
        try:
            entry = await kv.get(outcome_key(request_id, channel))
        except KeyNotFoundError:
            return None
        return ChannelOutcome.decode(entry.value or b"{}")

    async def record(self, outcome: ChannelOutcome) -> None:
        kv = await self._js.key_value(NOTIFICATIONS_BUCKET)
        await kv.put(outcome_key(outcome.request_id, outcome.channel), outcome.encode())

    async def claim(self, anima: str, dedup_key: str, request_id: str, ts: datetime) -> str | None:
        kv = await self._js.key_value(NOTIFICATIONS_BUCKET)
        key = first_key(anima, dedup_key)
        mine = json.dumps({"request_id": request_id, "ts": ts.isoformat()}).encode()
        try:
            entry = await kv.get(key)
        except KeyNotFoundError:
            await kv.create(key, mine)
            return None
        first = json.loads(entry.value or b"{}")
        earlier = repeat_of(str(first["request_id"]), datetime.fromisoformat(first["ts"]), request_id, ts)
        if earlier is None and first["request_id"] != request_id:
            # Older than the window (or from a clock behind): this one starts a new window.
            with contextlib.suppress(KeyWrongLastSequenceError):
                await kv.update(key, mine, last=entry.revision)
        return earlier
