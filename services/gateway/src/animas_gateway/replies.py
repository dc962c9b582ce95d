"""Matching events on the bus to the HTTP requests waiting for them.

The waiter itself is core's (agent-runner's memory tools use the same one); what the gateway
adds is which events answer a chat, and that several requests may wait for one reply: a client
that retries with its ``Idempotency-Key`` while its first request still waits asks for the same
message, so both must get the one reply.
"""

from __future__ import annotations

import asyncio

from animas_contracts import Event, ResponseSent
from animas_core.waiter import OUTCOME_SUBJECT, EventWaiter, outcome_key

__all__ = ["OUTCOME_SUBJECT", "REPLY_SUBJECT", "EventWaiter", "SharedReplies", "outcome_key", "reply_key"]

# Core NATS sees the subject as published (the stream's partition transform applies to storage
# only), so one wildcard catches every anima's events of a kind as they are stored.
REPLY_SUBJECT = "activity.*.response.sent"


def reply_key(event: Event) -> str | None:
    """A reply is awaited under the id of the message it answers."""
    return event.in_reply_to if isinstance(event, ResponseSent) else None


class _Shared:
    """One wait on the bus and the requests that share it."""

    def __init__(self, source: asyncio.Future[Event]) -> None:
        self.source = source
        self.requests: list[asyncio.Future[Event]] = []


class SharedReplies:
    """Futures for replies; requests for the same message id share one wait on the bus.

    :meth:`expect` gives each request its own future (so one request's cancellation touches no
    other); :meth:`forget` with that future ends its wait, and the last one ends the shared wait.
    """

    def __init__(self, waiter: EventWaiter) -> None:
        self._waiter = waiter
        self._shared: dict[str, _Shared] = {}

    def expect(self, key: str) -> asyncio.Future[Event]:
        """A future for the reply to message ``key``. Call before publishing the message."""
        shared = self._shared.get(key)
        if shared is None:
            shared = _Shared(self._waiter.expect(key))
            self._shared[key] = shared
            shared.source.add_done_callback(lambda source: self._settled(key, source))
        mine: asyncio.Future[Event] = asyncio.get_running_loop().create_future()
        shared.requests.append(mine)
        return mine

    def settle(self, key: str, reply: Event) -> None:
        """Answer every request waiting for ``key`` with a reply found another way (in the stream)."""
        shared = self._shared.pop(key, None)
        if shared is None:
            return
        self._waiter.forget(key)
        shared.source.cancel()
        for request in shared.requests:
            if not request.done():
                request.set_result(reply)

    def forget(self, key: str, request: asyncio.Future[Event]) -> None:
        """Stop waiting with ``request``; the shared wait ends with the last request."""
        shared = self._shared.get(key)
        if shared is None:
            return
        if request in shared.requests:
            shared.requests.remove(request)
        if not shared.requests:
            del self._shared[key]
            self._waiter.forget(key)
            shared.source.cancel()

    @property
    def pending(self) -> int:
        """How many message ids are awaited (nothing should be left once requests are done)."""
        return len(self._shared)

    def _settled(self, key: str, source: asyncio.Future[Event]) -> None:
        shared = self._shared.get(key)
        if shared is None or shared.source is not source:
            return  # already settled or forgotten: the cancellation of a finished wait
        del self._shared[key]
        for request in shared.requests:
            if request.done():
                continue
            if source.cancelled():
                request.cancel()
            else:
                request.set_result(source.result())
