"""The gateway: HTTP in, ``message.received`` onto the bus, the reply back to the waiting request."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode, TracerProvider
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from animas_contracts import InvalidAnimaName, ResponseSent, validate_anima_name
from animas_core.runtime import ServiceRuntime
from animas_gateway.admin import AdminApi
from animas_gateway.directory import AnimaDirectory, DirectoryUnavailable
from animas_gateway.domain import BadRequest, error_body, message_event, parse_chat_request
from animas_gateway.replies import OUTCOME_SUBJECT, REPLY_SUBJECT, EventWaiter, outcome_key, reply_key
from animas_gateway.settings import GatewaySettings

SERVICE = "gateway"
_log = logging.getLogger(__name__)


def create_app(
    runtime: ServiceRuntime, settings: GatewaySettings, *, tracer_provider: TracerProvider | None = None
) -> Starlette:
    """The ASGI app. The runtime must be connected and started by the caller."""
    waiter = EventWaiter(REPLY_SUBJECT, reply_key)
    outcomes = EventWaiter(OUTCOME_SUBJECT, outcome_key)
    admin = AdminApi(runtime.publisher, outcomes)
    directory = AnimaDirectory(runtime.broker.connection)
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

    async def chat(request: Request) -> JSONResponse:
        name = request.path_params["name"]
        with tracer.start_as_current_span(
            "POST /api/animas/{name}/chat",
            context=propagate.extract(dict(request.headers)),
            kind=SpanKind.SERVER,
            attributes={
                "http.request.method": "POST",
                "http.route": "/api/animas/{name}/chat",
                "anima": name,
            },
        ) as span:
            response = await _chat(request, name)
            span.set_attribute("http.response.status_code", response.status_code)
            if response.status_code >= 500:
                span.set_status(Status(StatusCode.ERROR))
            return response

    async def _chat(request: Request, name: str) -> JSONResponse:
        try:
            validate_anima_name(name)
        except InvalidAnimaName as exc:
            return JSONResponse(error_body(str(exc)), status_code=400)
        try:
            body = parse_chat_request(await request.body(), settings.max_message_chars)
        except BadRequest as exc:
            return JSONResponse(error_body(str(exc)), status_code=422)
        try:
            animas = await directory.animas()
        except DirectoryUnavailable as exc:
            return JSONResponse(error_body(str(exc)), status_code=503)
        if name not in animas:
            return JSONResponse(
                error_body(f"no anima named {name!r}", animas=sorted(animas)), status_code=404
            )
        if not animas[name].enabled:
            return JSONResponse(
                error_body(f"anima {name!r} is disabled (`anima enable {name}`)"), status_code=409
            )
        event = message_event(name, body)
        reply = waiter.expect(event.id)
        ids: dict[str, Any] = {
            "message_id": event.id,
            "correlation_id": event.correlation_id,
            "thread_id": event.thread_id,
        }
        try:
            await runtime.publisher.publish(event)
        except Exception as exc:
            waiter.forget(event.id)
            _log.exception("could not publish message.received")
            return JSONResponse(error_body(f"the message could not be stored: {exc}"), status_code=503)
        try:
            answer = await asyncio.wait_for(reply, settings.chat_timeout_s)
        except TimeoutError:
            waiter.forget(event.id)
            return JSONResponse(
                {
                    **ids,
                    "status": "accepted",
                    "detail": "the message is stored and will be answered; the reply was not ready "
                    f"within {settings.chat_timeout_s:g}s (see `anima events --correlation-id "
                    f"{event.correlation_id}`)",
                },
                status_code=202,
            )
        if not isinstance(answer, ResponseSent):
            return JSONResponse(error_body("unexpected answer"), status_code=500)
        return JSONResponse(
            {
                **ids,
                "reply": answer.text,
                "outcome": answer.outcome.value,
                "model": answer.model,
                "reply_id": answer.id,
            }
        )

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await waiter.start(runtime.broker.connection)
        await outcomes.start(runtime.broker.connection)
        yield
        await outcomes.stop()
        await waiter.stop()

    return Starlette(
        routes=[
            Route("/api/health", health, methods=["GET"]),
            Route("/api/animas", list_animas, methods=["GET"]),
            Route("/api/animas", admin.create, methods=["POST"]),
            Route("/api/animas/{name}/identity", admin.identity, methods=["PUT"]),
            Route("/api/animas/{name}/status", admin.status, methods=["PATCH"]),
            Route("/api/animas/{name}/chat", chat, methods=["POST"]),
        ],
        lifespan=lifespan,
    )
