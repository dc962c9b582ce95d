"""Sending through outbound and hearing back: a tool learns whether its message was delivered.

outbound is the one place a message is checked (the recipient, the loop limits, the storm
guards, the org chart), so a tool that sends waits for outbound's ``outbound.delivered`` or
``outbound.failed`` and tells the model what happened, as memory tools wait for memory-writer.
"""

from __future__ import annotations

from nats.js import JetStreamContext

from animas_agent_runner.adapters.awaited import answer_stored_after, publish_and_await
from animas_agent_runner.ports import SendVerdict
from animas_contracts import Event, OutboundDelivered, OutboundFailed, OutboundRequested
from animas_core.broker import EventSink
from animas_core.waiter import EventWaiter

VERDICT_SUBJECT = "activity.*.outbound.*"
"""outbound's records of a request (``delivered``/``failed``); also matches ``requested``."""
VERDICT_TYPES = ("outbound.delivered", "outbound.failed")


def verdict_key(event: Event) -> str | None:
    """The verdict of outbound is awaited under the id of the request it settles."""
    return event.request_id if isinstance(event, OutboundDelivered | OutboundFailed) else None


class BusOutboundSender:
    """Publishes a request and waits for outbound's verdict; reads it back when the wait misses it.

    Nothing found is "not confirmed yet", never "failed".
    """

    def __init__(self, publisher: EventSink, waiter: EventWaiter, js: JetStreamContext | None) -> None:
        self._publisher = publisher
        self._waiter = waiter
        self._js = js

    async def send(self, request: OutboundRequested, timeout_s: float) -> SendVerdict:
        js = self._js

        async def look_up(after_seq: int) -> Event | None:
            if js is None:
                return None
            return await answer_stored_after(
                js, request.anima, VERDICT_TYPES, after_seq, lambda e: verdict_key(e) == request.id
            )

        event = await publish_and_await(self._publisher, self._waiter, request, timeout_s, look_up)
        if isinstance(event, OutboundFailed):
            return SendVerdict(delivered=False, reason=event.reason)
        return SendVerdict(delivered=True if event is not None else None)
