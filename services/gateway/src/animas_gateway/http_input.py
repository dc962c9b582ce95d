"""Request bodies, before any handler sees them: bounded in size, and valid UTF-8.

A body larger than ``api.max_body_bytes`` is refused with 413 as soon as that is known (from
``Content-Length``, or while it streams in), so no handler buffers it and nothing that large
reaches the bus (where it would have been a 503, "maximum payload exceeded"). A body that is not
UTF-8 is refused with 400: JSON is UTF-8 (RFC 8259), and a handler must never meet bytes its
decoder cannot read (that was a 500).
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from animas_gateway.problems import problem

_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
_DRAIN_BYTES = 32 * 1024 * 1024
"""How much of an oversized body is read and dropped so the client can read the 413; past this, the
connection is just closed."""


class BodyTooLarge(Exception):
    """The body passed the limit."""


class CheckedBodies:
    """ASGI middleware: reads the body of a POST, PUT or PATCH (up to the limit), checks it, replays it."""

    def __init__(self, app: ASGIApp, max_body_bytes: Callable[[], int]) -> None:
        self._app = app
        self._max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _WITH_BODY:
            await self._app(scope, receive, send)
            return
        limit = self._max_body_bytes()
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _too_large(limit, scope, receive, send)
            return
        try:
            body = await _read_body(receive, limit)
        except BodyTooLarge:
            await _too_large(limit, scope, receive, send)
            return
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as exc:
            message = f"the request body is not valid UTF-8 (byte {exc.start}); send JSON in UTF-8"
            await problem(400, message)(scope, receive, send)
            return
        await self._app(scope, _replay(body, receive), send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed length before we are called
    return None


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _too_large(limit: int, scope: Scope, receive: Receive, send: Send) -> None:
    # Read (and drop) the rest first, up to a bound: a server that answers and closes while the
    # client still writes resets the connection, and the client sees the reset, not the 413.
    drained = 0
    while drained < _DRAIN_BYTES:
        message = await receive()
        if message["type"] != "http.request":
            return  # the client went away
        drained += len(message.get("body", b""))
        if not message.get("more_body", False):
            break
    text = f"the request body is larger than {limit} bytes (the limit: api.max_body_bytes in config.json)"
    # Close the connection: a body not read to its end cannot be followed by another request.
    response = problem(413, text, headers={"Connection": "close"})
    await response(scope, receive, send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands over the body read already, then passes on what comes after (a disconnect)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
