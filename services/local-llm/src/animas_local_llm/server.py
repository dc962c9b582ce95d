"""The HTTP layer: OpenAI-compatible chat completions over the engine, and a health endpoint.

``POST /v1/chat/completions``  the reply, whole or as ``chat.completion.chunk`` server-sent events
``GET  /v1/models``            the one model this service runs
``GET  /health``               200 when the model is ready, 503 while it loads or after it failed
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from animas_local_llm.engine import Engine, Job
from animas_local_llm.wire import ApiError, ChatRequest, Completion, parse_request, sse, usage

_log = logging.getLogger(__name__)


def _error(error: ApiError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status)


def _finish_reason(job: Job, completion_tokens: int) -> str:
    return "length" if completion_tokens >= job.max_new_tokens else "stop"


def _log_completion(job: Job, completion_tokens: int, started: float, *, stream: bool) -> None:
    _log.info(
        "completion",
        extra={
            "stream": stream,
            "prompt_tokens": job.prompt_tokens,
            "completion_tokens": completion_tokens,
            "seconds": round(time.monotonic() - started, 3),
        },
    )


async def _stream(engine: Engine, job: Job, request: ChatRequest) -> AsyncIterator[bytes]:
    started = time.monotonic()
    completion = Completion(model=engine.name)
    yield sse(completion.chunk({"role": "assistant", "content": ""}))
    text: list[str] = []
    try:
        async with contextlib.aclosing(engine.pieces(job)) as pieces:
            async for piece in pieces:
                text.append(piece)
                yield sse(completion.chunk({"content": piece}))
    except Exception as exc:  # the status line is gone: report in the stream, as OpenAI does
        _log.exception("generation failed mid-stream")
        yield sse(ApiError(500, f"generation failed: {exc}", type="server_error").body())
        return
    completion_tokens = await engine.count_tokens(job, "".join(text))
    _log_completion(job, completion_tokens, started, stream=True)
    yield sse(completion.chunk({}, _finish_reason(job, completion_tokens)))
    if request.include_usage:
        yield sse(completion.usage_chunk(usage(job.prompt_tokens, completion_tokens)))
    yield sse("[DONE]")


def create_app(engine: Engine) -> Starlette:
    """The ASGI app; its lifespan starts loading the model in the background."""

    async def chat_completions(request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except ValueError as exc:
            return _error(ApiError(400, f"the body is not valid JSON: {exc}"))
        try:
            chat = parse_request(body)
            job = await engine.prepare(chat.messages, chat.max_tokens, chat.temperature, chat.stop)
        except ApiError as error:
            return _error(error)
        if chat.stream:
            headers = {"cache-control": "no-cache", "x-accel-buffering": "no"}
            return StreamingResponse(
                _stream(engine, job, chat), media_type="text/event-stream", headers=headers
            )
        started = time.monotonic()
        async with contextlib.aclosing(engine.pieces(job)) as pieces:
            text = "".join([piece async for piece in pieces])
        completion_tokens = await engine.count_tokens(job, text)
        _log_completion(job, completion_tokens, started, stream=False)
        body = Completion(model=engine.name).message(
            text, _finish_reason(job, completion_tokens), usage(job.prompt_tokens, completion_tokens)
        )
        return JSONResponse(body)

    async def models(request: Request) -> Response:
        entry = {"id": engine.name, "object": "model", "created": 0, "owned_by": "animaworks"}
        return JSONResponse({"object": "list", "data": [entry]})

    async def health(request: Request) -> Response:
        report = engine.health()
        return JSONResponse(report, status_code=200 if report["status"] == "ready" else 503)

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        detail = exc.detail if isinstance(exc, HTTPException) else "internal error"
        return _error(
            ApiError(status, detail, type="invalid_request_error" if status < 500 else "server_error")
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine.start()
        yield

    return Starlette(
        routes=[
            Route("/v1/chat/completions", chat_completions, methods=["POST"]),
            Route("/v1/models", models, methods=["GET"]),
            Route("/health", health, methods=["GET"]),
        ],
        exception_handlers={HTTPException: http_error, Exception: http_error},
        lifespan=lifespan,
    )
