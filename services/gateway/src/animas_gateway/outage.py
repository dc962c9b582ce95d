"""A broker outage answers 503 with ``Retry-After``, never 500 (issue #12, item 4).

While nats-server is down or restarting, any call to it can fail in a handler: a request times
out, the connection is closed, the outbound buffer is full, JetStream says it is unavailable. None
of that is the client's fault or a bug: the client should try again shortly. Errors a handler does
not turn into a response itself are mapped here, and every 503 (those the handlers return too)
carries ``Retry-After`` so clients know when.
"""

from __future__ import annotations

import logging

import nats.errors
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from animas_core.errors import RetryableError
from animas_gateway.problems import problem

_log = logging.getLogger(__name__)

RETRY_AFTER_S = 2
"""``anima up`` restarts a dead broker within about a second and services reconnect every half second."""

BROKER_ERRORS: tuple[type[Exception], ...] = (nats.errors.Error, RetryableError, TimeoutError)
"""nats-py's errors (JetStream's included), a store that did not confirm, a wait that ran out."""


async def broker_unavailable(request: Request, exc: Exception) -> Response:
    """The response to a broker error a handler let through."""
    _log.warning("broker unavailable for %s %s: %r", request.method, request.url.path, exc)
    return problem(
        503,
        f"the message broker is unavailable, try again shortly ({type(exc).__name__})",
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


class RetryAfterOn503:
    """Adds ``Retry-After`` to every 503 that does not say it already."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return

        async def send_with_retry_after(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 503:
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"retry-after" for name, _ in headers):
                    headers.append((b"retry-after", str(RETRY_AFTER_S).encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self._app(scope, receive, send_with_retry_after)


def guard_broker_outages(app: Starlette) -> None:
    """Map broker errors to 503 and give every 503 a ``Retry-After`` (call before the app starts)."""
    for error in BROKER_ERRORS:
        app.add_exception_handler(error, broker_unavailable)
    app.add_middleware(RetryAfterOn503)
