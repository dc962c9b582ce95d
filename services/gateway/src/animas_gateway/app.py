"""The gateway's composition root: HTTP in, ``message.received`` onto the bus, replies back out.

``app.state.chat`` and ``app.state.replies`` expose the chat handlers and the reply waiter, so a
test can see that a finished or abandoned stream leaves nothing behind.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode, TracerProvider
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from animas_core.api_config import ApiConfig
from animas_core.config import CachedConfig
from animas_core.runtime import ServiceRuntime
from animas_gateway.admin import AdminApi
from animas_gateway.auth import Authentication, requires
from animas_gateway.chat import ChatApi
from animas_gateway.directory import AnimaDirectory, DirectoryUnavailable
from animas_gateway.domain import error_body
from animas_gateway.http_input import CheckedBodies
from animas_gateway.ingress import Clock, StoredMessages
from animas_gateway.outage import guard_broker_outages
from animas_gateway.replies import (
    OUTCOME_SUBJECT,
    REPLY_SUBJECT,
    EventWaiter,
    SharedReplies,
    outcome_key,
    reply_key,
)
from animas_gateway.settings import GatewaySettings

SERVICE = "gateway"
CHAT_ROUTE = "/api/animas/{name}/chat"
STREAM_ROUTE = "/api/animas/{name}/chat/stream"

Handler = Callable[[Request], Awaitable[Response]]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(
    runtime: ServiceRuntime,
    settings: GatewaySettings,
    *,
    tracer_provider: TracerProvider | None = None,
    clock: Clock = _utc_now,
) -> Starlette:
    """The ASGI app. The runtime must be connected and started by the caller.

    config.json (its ``api`` section: tokens and limits; its credentials) is re-read when it
    changes, so a token created or revoked applies to the next request.
    """
    config = CachedConfig(settings.config_path)
    waiter = EventWaiter(REPLY_SUBJECT, reply_key)
    replies = SharedReplies(waiter)
    outcomes = EventWaiter(OUTCOME_SUBJECT, outcome_key)
    directory = AnimaDirectory(runtime.broker.connection)
    admin = AdminApi(runtime.publisher, outcomes, directory, config.get)
    stored = StoredMessages(runtime.broker.connection.jetstream(), clock)
    chat = ChatApi(
        runtime.broker.connection,
        runtime.publisher,
        directory,
        replies,
        settings,
        config=config.get,
        stored=stored,
    )
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

    def api_config() -> ApiConfig:
        return config.get().api

    app = Starlette(
        routes=[
            Route("/api/health", health, methods=["GET"]),
            Route("/api/animas", requires("admin", list_animas), methods=["GET"]),
            Route("/api/animas", requires("admin", admin.create), methods=["POST"]),
            Route("/api/animas/{name}/identity", requires("admin", admin.identity), methods=["PUT"]),
            Route("/api/animas/{name}/status", requires("admin", admin.status), methods=["PATCH"]),
            Route(CHAT_ROUTE, traced(CHAT_ROUTE, requires("chat", chat.chat)), methods=["POST"]),
            Route(STREAM_ROUTE, traced(STREAM_ROUTE, requires("chat", chat.stream)), methods=["POST"]),
        ],
        # Outermost first: who is calling before anything is read, then the body's size and encoding.
        middleware=[
            Middleware(Authentication, api_config=api_config),
            Middleware(CheckedBodies, max_body_bytes=lambda: api_config().max_body_bytes),
        ],
        lifespan=lifespan,
    )
    guard_broker_outages(app)  # a broker outage is a 503 with Retry-After, never a 500
    app.state.chat = chat
    app.state.replies = replies
    return app
