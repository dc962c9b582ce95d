"""Matching events on the bus to the HTTP requests waiting for them.

The waiter itself is core's (agent-runner's memory tools use the same one); what the gateway
adds is which events answer a chat.
"""

from __future__ import annotations

from animas_contracts import Event, ResponseSent
from animas_core.waiter import OUTCOME_SUBJECT, EventWaiter, outcome_key

__all__ = ["OUTCOME_SUBJECT", "REPLY_SUBJECT", "EventWaiter", "outcome_key", "reply_key"]

# Core NATS sees the subject as published (the stream's partition transform applies to storage
# only), so one wildcard catches every anima's events of a kind as they are stored.
REPLY_SUBJECT = "activity.*.response.sent"


def reply_key(event: Event) -> str | None:
    """A reply is awaited under the id of the message it answers."""
    return event.in_reply_to if isinstance(event, ResponseSent) else None
