"""The live feed's one reader: a tailer per gateway, fanning new events out to every client.

No consumer (the gateway may not make one): one task reads the activity stream with direct gets
from the last sequence it saw, sleeping briefly when there is nothing new, and hands each item
to every subscriber's bounded queue. A client joins in two steps (:meth:`Tailer.follow`):

1. it subscribes first, so every event the tailer reads from then on is queued for it;
2. it then catches up from its own cursor with direct gets up to the stream's end *now*, which
   is at or past everything the tailer has read, so the two overlap and never leave a gap;
   the overlap is dropped by sequence (only sequences above the last one sent go out).

A subscriber whose queue fills (a client that does not read) is dropped: it gets a final
``None`` and the tailer never waits for it, so one slow client never holds up the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator
from typing import Any

from nats.js import JetStreamContext

from animas_contracts.subjects import ACTIVITY_STREAM, stored_activity_filter
from animas_gateway.api.activity import Filters
from animas_gateway.api.activity_reads import stored_items

_log = logging.getLogger(__name__)

QUEUE_SIZE = 1000
"""Items a client may fall behind the live stream before it is dropped."""


class Dropped(Exception):
    """The client fell too far behind and was dropped (it may reconnect from its last sequence)."""


@dataclasses.dataclass(eq=False)
class _Subscriber:
    queue: asyncio.Queue[dict[str, Any] | None]
    dropped: bool = False


class Tailer:
    """Reads new activity once for every live-feed client of this gateway."""

    def __init__(
        self,
        js: JetStreamContext,
        *,
        poll_s: float = 0.25,
        queue_size: int = QUEUE_SIZE,
    ) -> None:
        self.js = js
        self._js = js
        self._poll_s = poll_s
        self._queue_size = queue_size
        self._subscribers: set[_Subscriber] = set()
        self._task: asyncio.Task[None] | None = None
        self._last_seq = 0
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def wake(self) -> None:
        """Read now rather than after the current pause (something new was just published)."""
        self._wake.set()

    async def _subscribe(self) -> _Subscriber:
        async with self._lock:
            subscriber = _Subscriber(asyncio.Queue(self._queue_size))
            self._subscribers.add(subscriber)
            if self._task is None or self._task.done():
                # Start at the stream's end: each client catches up from its own cursor.
                self._last_seq = (await self._js.stream_info(ACTIVITY_STREAM)).state.last_seq
                self._task = asyncio.create_task(self._run(), name="activity-tailer")
            return subscriber

    async def _unsubscribe(self, subscriber: _Subscriber) -> None:
        async with self._lock:
            self._subscribers.discard(subscriber)
            if not self._subscribers and self._task is not None:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
                self._task = None

    async def stop(self) -> None:
        """Stop reading (the app's shutdown); clients still connected see the end of their feed."""
        async with self._lock:
            for subscriber in self._subscribers:
                _offer(subscriber, None)
            self._subscribers.clear()
            if self._task is not None:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
                self._task = None

    async def _run(self) -> None:
        while True:
            got = 0
            try:
                async for item in stored_items(
                    self._js, stored_activity_filter(), start_seq=self._last_seq + 1
                ):
                    self._last_seq = item["seq"]
                    got += 1
                    for subscriber in list(self._subscribers):
                        _offer(subscriber, item)
            except asyncio.CancelledError:
                raise
            except Exception:  # a broker hiccup: try again after the pause
                _log.warning("the live feed could not read the activity stream", exc_info=True)
            if not got:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._poll_s)

    async def follow(self, filters: Filters, after: int) -> AsyncIterator[dict[str, Any]]:
        """Every item matching ``filters`` with a sequence above ``after``, in order, then live ones.

        Raises :class:`Dropped` when the client fell too far behind.
        """
        subscriber = await self._subscribe()
        try:
            last = after
            async for item in stored_items(self._js, filters.stored_subject(), start_seq=after + 1):
                if item["seq"] > last:
                    last = item["seq"]
                    if filters.matches(item):
                        yield item
            while True:
                live = await subscriber.queue.get()
                if live is None:
                    if subscriber.dropped:
                        raise Dropped(f"the client fell more than {self._queue_size} events behind")
                    return
                if live["seq"] > last:
                    last = live["seq"]
                    if filters.matches(live):
                        yield live
        finally:
            await self._unsubscribe(subscriber)


def _offer(subscriber: _Subscriber, item: dict[str, Any] | None) -> None:
    """Queue ``item``; a full queue drops the subscriber (its last slot carries the ``None`` end)."""
    if subscriber.dropped:
        return
    if item is not None and subscriber.queue.qsize() >= subscriber.queue.maxsize - 1:
        subscriber.dropped = True
        item = None
    with contextlib.suppress(asyncio.QueueFull):
        subscriber.queue.put_nowait(item)
