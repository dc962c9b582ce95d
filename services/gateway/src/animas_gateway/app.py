"""The gateway's composition root: HTTP in, ``message.received`` onto the bus, replies back out.

``app.state.chat`` and ``app.state.replies`` expose the chat handlers and the reply waiter, so a
test can see that a finished or abandoned stream leaves nothing behind.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode, TracerProvider
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from animas_core.runtime import ServiceRuntime
from animas_gateway.admin import AdminApi
from animas_gateway.chat import ChatApi
from animas_gateway.directory import AnimaDirectory, DirectoryUnavailable
from animas_gateway.domain import error_body
from animas_gateway.replies import OUTCOME_SUBJECT, REPLY_SUBJECT, EventWaiter, outcome_key, reply_key
from animas_gateway.settings import GatewaySettings

SERVICE = "gateway"
CHAT_ROUTE = "/api/animas/{name}/chat"
STREAM_ROUTE = "/api/animas/{name}/chat/stream"

Handler = Callable[[Request], Awaitable[Response]]


def create_app(
    runtime: ServiceRuntime, settings: GatewaySettings, *, tracer_provider: TracerProvider | None = None
) -> Starlette:
    """The ASGI app. The runtime must be connected and started by the caller."""
    waiter = EventWaiter(REPLY_SUBJECT, reply_key)
    outcomes = EventWaiter(OUTCOME_SUBJECT, outcome_key)
    admin = AdminApi(runtime.publisher, outcomes)
    directory = AnimaDirectory(runtime.broker.connection)
    chat = ChatApi(runtime.broker.connection, runtime.publisher, directory, waiter, settings)
    tracer = (tracer_provider or trace.get_tracer_provider()).get_tracer("animaworks.gateway")

    async def health(_: Request) -> JSONResponse:
        connected = runtime.broker.connection is not None and runtime.broker.connection.is_connected
        return JSONResponse({"ok": connected, "service": SERVICE}, status_code=200 if connected else 503)

    async def list_animas(_: Request) -> JSONResponse:
        try:
            animas = await directory.animas()
        except DirectoryUnavailable as exc:
            return JSONResponse(error_body(str(exc)), status_code=503)
        return JSONResponse(
            {"animas": [{"name": a.name, "enabled": a.enabled, "role": a.role} for a in animas.values()]}
        )

    def traced(route: str, handler: Handler) -> Handler:
        """The handler inside a server span that continues the caller's trace (if it sent one)."""

        async def endpoint(request: Request) -> Response:
            with tracer.start_as_current_span(
                f"POST {route}",
                context=propagate.extract(dict(request.headers)),
                kind=SpanKind.SERVER,
                attributes={
                    "http.request.method": "POST",
                    "http.route": route,
                    "anima": request.path_params.get("name", ""),
                },
            ) as span:
                response = await handler(request)
                span.set_attribute("http.response.status_code", response.status_code)
                if response.status_code >= 500:
                    span.set_status(Status(StatusCode.ERROR))
                return response

        return endpoint

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await waiter.start(runtime.broker.connection)
        await outcomes.start(runtime.broker.connection)
        yield
        await outcomes.stop()
        await waiter.stop()

    app = Starlette(
        routes=[
            Route("/api/health", health, methods=["GET"]),
            Route("/api/animas", list_animas, methods=["GET"]),
            Route("/api/animas", admin.create, methods=["POST"]),
            Route("/api/animas/{name}/identity", admin.identity, methods=["PUT"]),
            Route("/api/animas/{name}/status", admin.status, methods=["PATCH"]),
            Route(CHAT_ROUTE, traced(CHAT_ROUTE, chat.chat), methods=["POST"]),
            Route(STREAM_ROUTE, traced(STREAM_ROUTE, chat.stream), methods=["POST"]),
        ],
        lifespan=lifespan,
    )
    app.state.chat = chat
    app.state.replies = waiter
    return app
