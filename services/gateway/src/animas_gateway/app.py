"""The gateway's composition root: HTTP in, ``message.received`` onto the bus, replies back out.

Every route is an :class:`~animas_gateway.operations.Operation` from a module of
:mod:`animas_gateway.api`; ``/openapi.json`` is made from the same list, so it describes every
route the app serves. Every error is a problem-details body (RFC 9457), Starlette's own 404 and
405 included.

``app.state.chat`` and ``app.state.replies`` expose the chat handlers and the reply waiter, so a
test can see that a finished or abandoned stream leaves nothing behind; ``app.state.operations``
is the list the app was made from.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode, TracerProvider
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response

from animas_contracts import MessageReceived
from animas_core.api_config import ApiConfig
from animas_core.config import AnimaWorksConfig
from animas_core.runtime import ServiceRuntime
from animas_gateway.admin import AdminApi
from animas_gateway.api import (
    animas,
    boards,
    config_routes,
    conversations,
    cycles,
    feed,
    memory_browser,
    memory_service,
    operational,
    org,
    reference,
    schedules,
    timeline,
    ui,
    webhooks,
    work,
)
from animas_gateway.api.tailer import Tailer
from animas_gateway.auth import Authentication
from animas_gateway.chat import ChatApi
from animas_gateway.directory import AnimaDirectory
from animas_gateway.http_input import CheckedBodies
from animas_gateway.ingress import Clock, StoredMessages, deliver_once
from animas_gateway.operations import Handler, Operation, openapi_document, routes
from animas_gateway.outage import guard_broker_outages
from animas_gateway.problems import problem
from animas_gateway.replies import (
    OUTCOME_SUBJECT,
    REPLY_SUBJECT,
    EventWaiter,
    SharedReplies,
    outcome_key,
    reply_key,
)
from animas_gateway.settings import GatewaySettings
from animas_gateway.slack_socket import SocketModeSources

SERVICE = "gateway"
API_TITLE = "AnimaWorks API"


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _version() -> str:
    try:
        return metadata.version("animaworks-gateway")
    except metadata.PackageNotFoundError:
        return "0"


def create_app(
    runtime: ServiceRuntime,
    settings: GatewaySettings,
    *,
    tracer_provider: TracerProvider | None = None,
    clock: Clock = _utc_now,
) -> Starlette:
    """The ASGI app. The runtime must be connected and started by the caller.

    The config (its ``api`` section: tokens and limits; its credentials) is the runtime's, which
    follows the CONFIG bucket, so a token created or revoked applies as soon as it is published.
    """
    config = runtime.config
    nc = runtime.broker.connection
    waiter = EventWaiter(REPLY_SUBJECT, reply_key)
    replies = SharedReplies(waiter)
    outcomes = EventWaiter(OUTCOME_SUBJECT, outcome_key)
    directory = AnimaDirectory(nc)
    admin = AdminApi(runtime.publisher, outcomes, directory, config.get)
    stored = StoredMessages(nc.jetstream(), clock)
    chat = ChatApi(nc, runtime.publisher, directory, replies, settings, config=config.get, stored=stored)

    async def store_once(event: MessageReceived, current: AnimaWorksConfig) -> None:
        await deliver_once(runtime.publisher, stored, event, current.api.idempotency_window_s)

    socket_mode = SocketModeSources(config.get, store_once)
    tracer = (tracer_provider or trace.get_tracer_provider()).get_tracer("animaworks.gateway")

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

    def connected() -> bool:
        connection = runtime.broker.connection
        return connection is not None and connection.is_connected

    js = nc.jetstream()
    tailer = Tailer(js)  # the live feed's one reader of the activity stream
    ops: list[Operation] = [
        operational.health_operation(SERVICE, connected),
        *animas.operations(admin, chat, directory, nc, config.get, traced=traced),
        *memory_browser.operations(nc, runtime.publisher, outcomes, directory, config.get),
        *conversations.operations(nc, directory),
        *schedules.operations(nc, runtime.publisher, config.get, clock),
        *timeline.operations(js),
        *feed.operations(tailer),
        *cycles.operations(nc),
        *org.operations(js, directory),
        *work.operations(nc),
        *boards.operations(nc),
        *memory_service.operations(nc, runtime.publisher, outcomes, directory, config.get, clock),
        *operational.operations(nc),
        *config_routes.operations(settings.config_path, config.get),
        *webhooks.operations(runtime.publisher, stored, config.get, clock),
        *ui.operations(),
    ]
    document: dict[str, Any] = {}

    def described() -> dict[str, Any]:
        if not document:
            document.update(openapi_document(ops, title=API_TITLE, version=_version()))
        return document

    ops += reference.operations(described)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await waiter.start(nc)
        await outcomes.start(nc)
        await socket_mode.start()
        yield
        await socket_mode.stop()
        await tailer.stop()
        await outcomes.stop()
        await waiter.stop()

    def api_config() -> ApiConfig:
        return config.get().api

    app = Starlette(
        routes=[*routes(ops), *feed.websocket_routes(tailer, api_config)],
        # Outermost first: who is calling before anything is read, then the body's size and encoding.
        middleware=[
            Middleware(Authentication, api_config=api_config),
            Middleware(CheckedBodies, max_body_bytes=lambda: api_config().max_body_bytes),
        ],
        exception_handlers={HTTPException: _http_problem, Exception: _internal_problem},
        lifespan=lifespan,
    )
    guard_broker_outages(app)  # a broker outage is a 503 with Retry-After, never a 500
    app.state.chat = chat
    app.state.replies = replies
    app.state.operations = tuple(ops)
    return app


async def _http_problem(_: Request, exc: Exception) -> Response:
    """Starlette's own errors (no such route: 404, a method the route lacks: 405) as problems."""
    assert isinstance(exc, HTTPException)
    return problem(exc.status_code, str(exc.detail), headers=dict(exc.headers) if exc.headers else None)


async def _internal_problem(_: Request, __: Exception) -> Response:
    """A bug, as a problem too (Starlette logs the exception; the body names nothing of it)."""
    return problem(500, "the gateway failed to answer this request (its log says why)")


def operations_of(app: Starlette) -> tuple[Operation, ...]:
    """The operations ``app`` was made from (for tests and tools)."""
    ops: tuple[Operation, ...] = app.state.operations
    return ops
