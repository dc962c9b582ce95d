"""The live feed: every new activity event as it is stored, by SSE and by WebSocket.

``GET /api/events/stream`` (SSE) sends each event as ``id: <seq>``, ``event: activity``,
``data: <item JSON>``: the timeline's item plus ``anima_state``, the state the event leaves its
anima in (:func:`animas_gateway.api.activity.state_after`; null when it changes nothing). A
client that reconnects with ``Last-Event-ID`` (the header browsers send, or ``?last_event_id=``)
gets every stored event after that sequence, in order, then the live ones: no gap and no
duplicate. Without one it starts with the events stored from now on. Comments (``: keep-alive``)
keep idle connections open; a client that falls too far behind gets a last comment
(``: dropped…``) and is disconnected, and may reconnect from its last id.

``GET /api/events/ws`` is the same feed as WebSocket text messages (one item's JSON each), with
``?after=<seq>`` in place of ``Last-Event-ID``. An OpenAPI operation cannot describe a
WebSocket, so it is served by :func:`websocket_routes` and described here and in the SSE route.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from animas_contracts.subjects import ACTIVITY_STREAM
from animas_core.api_config import ApiConfig
from animas_gateway.api.activity import BadQuery, Filters, parse_filters, public
from animas_gateway.api.tailer import Dropped, Tailer
from animas_gateway.auth import Unauthorized, authenticate
from animas_gateway.operations import Operation, Param
from animas_gateway.problems import Problem

KEEP_ALIVE_S = 15.0
STREAM_DESCRIPTION = (
    "Live activity, as server-sent events: `id: <seq>`, `event: activity`, `data: <item + anima_state>`. "
    "Send `Last-Event-ID` (or `?last_event_id=`) to resume after that sequence with no gap or duplicate. "
    "The same feed is a WebSocket at `GET /api/events/ws?anima=&type=&after=<seq>` (one item's JSON per "
    "text message)."
)


def _filters(query: dict[str, str]) -> Filters:
    try:
        filters = parse_filters({k: v for k, v in query.items() if k in ("anima", "type")})
    except BadQuery as exc:
        raise Problem(422, str(exc)) from None
    return filters


def _sequence(raw: str | None, name: str) -> int | None:
    if raw is None or raw == "":
        return None
    if not raw.isdigit():
        raise Problem(422, f"{name}: {raw!r} is not a stream sequence")
    return int(raw)


async def _start(tailer: Tailer, after: int | None) -> int:
    """Where a client without a cursor starts: the stream's end now."""
    if after is not None:
        return after
    return int((await tailer.js.stream_info(ACTIVITY_STREAM)).state.last_seq)


async def _with_keep_alive(
    items: AsyncIterator[dict[str, Any]], every_s: float
) -> AsyncIterator[dict[str, Any] | None]:
    """``items``, with a ``None`` whenever ``every_s`` passes without one."""
    pending: asyncio.Future[dict[str, Any]] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(items))
            done, _ = await asyncio.wait({pending}, timeout=every_s)
            if not done:
                yield None
                continue
            try:
                item = pending.result()
            except StopAsyncIteration:
                return
            pending = None
            yield item
    finally:
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(BaseException):
                await pending
        aclose = getattr(items, "aclose", None)
        if aclose is not None:
            await aclose()


def operations(tailer: Tailer, *, keep_alive_s: float = KEEP_ALIVE_S) -> list[Operation]:
    """``GET /api/events/stream``; the WebSocket twin is in :func:`websocket_routes`."""

    async def stream(request: Request) -> Response:
        filters = _filters(dict(request.query_params))
        cursor = request.headers.get("last-event-id") or request.query_params.get("last_event_id")
        after = await _start(tailer, _sequence(cursor, "Last-Event-ID"))

        async def frames() -> AsyncGenerator[str, None]:
            yield "retry: 2000\n: connected\n\n"
            feed = _with_keep_alive(tailer.follow(filters, after), keep_alive_s)
            try:
                async for item in feed:
                    if item is None:
                        yield ": keep-alive\n\n"
                        continue
                    data = json.dumps(public(item, with_state=True), separators=(",", ":"), default=str)
                    yield f"id: {item['seq']}\nevent: activity\ndata: {data}\n\n"
            except Dropped as exc:
                yield f": dropped: {exc}; reconnect with Last-Event-ID to resume\n\n"
            finally:
                await feed.aclose()  # type: ignore[attr-defined]

        return StreamingResponse(
            frames(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return [
        Operation(
            "GET",
            "/api/events/stream",
            stream,
            STREAM_DESCRIPTION,
            "activity",
            "admin",
            media_type="text/event-stream",
            params=(
                Param("anima", "query", "Only this anima's events."),
                Param("type", "query", "Only this event type, or a prefix such as `cycle.`."),
                Param("last_event_id", "query", "Resume after this sequence (as the Last-Event-ID header)."),
                Param(
                    "Last-Event-ID", "header", "Resume after this sequence (sent by browsers on reconnect)."
                ),
            ),
            errors=(422,),
        )
    ]


def same_origin(origin: str | None, host: str | None) -> bool:
    """Whether a WebSocket handshake comes from the gateway's own pages (or not from a browser).

    Browsers always send ``Origin`` on a WebSocket handshake; other clients need not.
    """
    if origin is None:
        return True
    scheme, _, rest = origin.partition("://")
    return scheme in ("http", "https") and host is not None and rest.rstrip("/").lower() == host.lower()


def websocket_routes(tailer: Tailer, api_config: Callable[[], ApiConfig]) -> list[WebSocketRoute]:
    """``GET /api/events/ws``: the live feed over a WebSocket (admin scope, checked here).

    The Authentication middleware passes WebSockets through untouched, so the caller is checked
    here with the same rules: a token in ``Authorization``, or loopback without one when allowed.
    A browser's handshake from another origin is refused: WebSockets have no CORS, and without
    this any page a person on this machine opens could read the feed through loopback.
    """

    async def feed(websocket: WebSocket) -> None:
        if not same_origin(websocket.headers.get("origin"), websocket.headers.get("host")):
            await websocket.close(code=4403)  # before accepting: the handshake is refused (403)
            return
        try:
            principal = authenticate(
                api_config(),
                websocket.headers.get("authorization"),
                websocket.client.host if websocket.client else None,
            )
        except Unauthorized:
            principal = None
        if principal is None or not principal.may("admin"):
            await websocket.close(code=4403 if principal else 4401)
            return
        try:
            filters = _filters(dict(websocket.query_params))
            after = await _start(tailer, _sequence(websocket.query_params.get("after"), "after"))
        except Problem as exc:  # accepted first, so that the client can read why it is closed
            await websocket.accept()
            await websocket.close(code=4422, reason=exc.detail[:120])
            return
        await websocket.accept()

        async def send() -> None:
            items = tailer.follow(filters, after)
            try:
                async for item in items:
                    await websocket.send_text(json.dumps(public(item, with_state=True), default=str))
            except Dropped:
                await websocket.close(code=4408, reason="fell behind; reconnect with ?after=<last seq>")
            finally:
                await items.aclose()  # type: ignore[attr-defined]

        async def receive() -> None:  # the client's messages are ignored; its close ends the feed
            with contextlib.suppress(WebSocketDisconnect):
                while (await websocket.receive())["type"] != "websocket.disconnect":
                    pass

        sender, receiver = asyncio.create_task(send()), asyncio.create_task(receive())
        try:
            await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sender, receiver):
                task.cancel()
            for task in (sender, receiver):
                with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                    await task

    return [WebSocketRoute("/api/events/ws", feed)]
