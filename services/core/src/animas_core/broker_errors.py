"""Which broker errors mean "not now": the broker or the service behind it is away for a moment.

While nats-server restarts (or a cluster elects a stream's new leader), or a service that
answers requests restarts, a publish or a request fails in one of several ways: no ack or no
reply in time, nobody subscribed yet, the connection reconnecting or closed, the buffer for the
broker full, JetStream still recovering its store. Each of them passes once the broker (or the
service) is back, so callers turn every one into a :class:`~animas_core.errors.RetryableError`:
a tool effect is retried inside its cycle and a message redelivered, instead of telling the
model (or the client) of an unexpected error.

Errors of the request itself (a subject or payload the broker refuses) are not here: trying
again cannot help.
"""

from __future__ import annotations

import nats.errors
import nats.js.errors

BROKER_UNREACHABLE: tuple[type[Exception], ...] = (
    nats.errors.TimeoutError,  # no ack or reply in time (a flush or drain timeout too)
    TimeoutError,  # asyncio's, from waits around broker calls
    nats.errors.NoRespondersError,  # nobody listens yet: the stream's leader or the rpc service
    nats.errors.ConnectionClosedError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.ConnectionDrainingError,  # this service is stopping; another delivery will do
    nats.errors.OutboundBufferLimitError,  # what waits for the broker outgrew the buffer
    nats.errors.StaleConnectionError,  # unexpected EOF included
    nats.js.errors.ServiceUnavailableError,  # JetStream answered 503: still starting or recovering
    # A JetStream publish nobody took: the stream has no leader for a moment (a cluster electing
    # one after a member's loss; nats-py raises this, not NoRespondersError, for a publish).
    nats.js.errors.NoStreamResponseError,
)
"""Errors from a publish, a request or a JetStream call that a later try may not meet."""


BROKER_AWAY: tuple[type[Exception], ...] = tuple(
    kind for kind in BROKER_UNREACHABLE if not issubclass(kind, (TimeoutError, nats.errors.TimeoutError))
)
"""The errors that say the broker (or the service behind a request) is not there at all.

Timeouts are left out: a request that always times out on one message (a bad input, a slow
handler) would otherwise hold its partition for the whole of an outage's patience.
"""


def broker_away(error: BaseException) -> bool:
    """Whether ``error``, or an error it was raised from, is the broker (or a service behind it) away."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, BROKER_AWAY):
            return True
        cause = cause.__cause__
    return False
