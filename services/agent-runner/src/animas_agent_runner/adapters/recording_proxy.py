"""A loopback proxy in front of an Anthropic endpoint that records every model call it passes.

Mode ``agent_sdk`` lets the Claude Code CLI call the model itself, so agent-runner cannot wrap
each call as the other modes do. The CLI is pointed at this proxy instead (``ANTHROPIC_BASE_URL``):
each ``POST /v1/messages`` is forwarded to the real endpoint with the anima's key, the answer
streams back unchanged, and the call is reported to the cycle's :class:`TurnRecorder` exactly as
the anthropic mode reports its own (the request as sent, the response assembled from the stream,
usage, stop reason, latency). The CLI holds only a per-cycle token that opens this proxy; the
anima's key stays in agent-runner and is never recorded.
"""

from __future__ import annotations

import asyncio
import codecs
import functools
import json
import secrets
import socket
import time
from collections.abc import Callable
from typing import Any

import httpx
from aiohttp import web

from animas_agent_runner.adapters.anthropic_model import _Assembly, _sdk
from animas_agent_runner.ports import (
    ModelCallFailed,
    ModelTarget,
    ToolCall,
    ToolResult,
    TurnRecorder,
    TurnRequest,
    TurnResult,
    UserTurn,
)

ANTHROPIC_API = "https://api.anthropic.com"
_FORWARDED = ("anthropic-version", "anthropic-beta", "content-type", "accept")
_STREAM_EVENTS = frozenset(
    {"message_start", "content_block_start", "content_block_delta", "content_block_stop", "message_delta"}
)


@functools.cache
def _event_adapter() -> Any:
    import pydantic

    return pydantic.TypeAdapter(_sdk().types.RawMessageStreamEvent)


class RecordingProxy:
    """Serves ``/v1/…`` on 127.0.0.1 for one cycle; use as an async context manager."""

    def __init__(
        self,
        target: ModelTarget,
        recorder: TurnRecorder,
        *,
        timeout_s: float = 600.0,
        on_tool_calls: Callable[[tuple[ToolCall, ...]], None] | None = None,
    ) -> None:
        self._target = target
        self._on_tool_calls = on_tool_calls
        self._recorder = recorder
        self._upstream = (target.api_base or ANTHROPIC_API).rstrip("/")
        self.token = "animas-" + secrets.token_urlsafe(24)
        """What the CLI sends as its API key; anything else is refused."""
        self.calls = 0
        """Model calls passed on (recorded), for the mode's outcome."""
        self._client = httpx.AsyncClient(timeout=timeout_s)
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def __aenter__(self) -> RecordingProxy:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        await self._client.aclose()

    def _authorised(self, request: web.Request) -> bool:
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        given = request.headers.get("x-api-key", "") or bearer
        return secrets.compare_digest(given.encode(), self.token.encode())

    def _headers(self, request: web.Request) -> dict[str, str]:
        headers = {k: v for k in _FORWARDED if (v := request.headers.get(k)) is not None}
        if self._target.api_key:
            headers["x-api-key"] = self._target.api_key
        return headers

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if not self._authorised(request):
            return web.json_response(_error("authentication_error", "not this cycle's proxy"), status=401)
        raw = await request.read()
        url = self._upstream + request.path_qs
        if request.method == "POST" and request.path == "/v1/messages":
            return await self._model_call(request, url, raw)
        # Anything else the CLI asks (token counting, model lists) passes through unrecorded.
        try:
            upstream = await self._client.request(
                request.method, url, content=raw, headers=self._headers(request)
            )
        except httpx.HTTPError as exc:
            return web.json_response(_error("api_error", str(exc)), status=502)
        return web.Response(
            status=upstream.status_code,
            body=upstream.content,
            content_type=upstream.headers.get("content-type", "application/json").split(";")[0],
        )

    async def _model_call(self, request: web.Request, url: str, raw: bytes) -> web.StreamResponse:
        began = time.monotonic()
        body: dict[str, Any] = json.loads(raw or b"{}")
        recorded = wire_request(body)
        try:
            upstream_request = self._client.build_request(
                "POST", url, content=raw, headers=self._headers(request)
            )
            upstream = await self._client.send(upstream_request, stream=True)
        except httpx.HTTPError as exc:
            await self._failed(recorded, ModelCallFailed(f"the model endpoint: {exc}", transient=True), began)
            return web.json_response(_error("api_error", str(exc)), status=502)
        try:
            if upstream.status_code != 200:
                content = await upstream.aread()
                failure = ModelCallFailed(
                    f"{upstream.status_code}: {_error_message(content)}",
                    transient=upstream.status_code in (408, 409, 429) or upstream.status_code >= 500,
                )
                await self._failed(recorded, failure, began)
                return web.Response(
                    status=upstream.status_code, body=content, content_type="application/json"
                )
            if not body.get("stream"):
                content = await upstream.aread()
                result = _whole(recorded, json.loads(content))
                await self._called(recorded, result, began)
                return web.Response(body=content, content_type="application/json")
            return await self._relay_stream(request, upstream, recorded, began)
        finally:
            await upstream.aclose()

    async def _relay_stream(
        self, request: web.Request, upstream: httpx.Response, recorded: dict[str, Any], began: float
    ) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        assembly = _Assembly(str(recorded.get("model", self._target.model)))
        adapter = await asyncio.to_thread(_event_adapter)
        # Incremental: a character whose bytes are split between two chunks is decoded whole.
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        pending = ""
        error: str | None = None
        async for chunk in upstream.aiter_bytes():
            await response.write(chunk)
            pending += decoder.decode(chunk)
            *frames, pending = pending.replace("\r\n", "\n").split("\n\n")
            for frame in frames:
                data = _frame_data(frame)
                if data is None:
                    continue
                if data.get("type") == "error":
                    error = _error_message(json.dumps(data).encode())
                elif data.get("type") in _STREAM_EVENTS:
                    piece = assembly.add(adapter.validate_python(data))
                    if piece:
                        await self._recorder.on_text(piece)
        await response.write_eof()
        if error is not None:
            await self._failed(recorded, ModelCallFailed(error, transient=True), began)
        else:
            await self._called(recorded, assembly.result(recorded), began)
        return response

    async def _called(self, recorded: dict[str, Any], result: TurnResult, began: float) -> None:
        self.calls += 1
        if self._on_tool_calls is not None and result.tool_calls:
            self._on_tool_calls(result.tool_calls)
        await self._recorder.model_called(
            target=self._target,
            request=neutral(recorded),
            result=result,
            error=None,
            latency_ms=(time.monotonic() - began) * 1000,
        )

    async def _failed(self, recorded: dict[str, Any], error: ModelCallFailed, began: float) -> None:
        await self._recorder.model_called(
            target=self._target,
            request=neutral(recorded),
            result=None,
            error=error,
            latency_ms=(time.monotonic() - began) * 1000,
        )


def wire_request(body: dict[str, Any]) -> dict[str, Any]:
    """The CLI's request as recorded: as sent, less ``metadata`` (the CLI's device and session ids)."""
    return {k: v for k, v in body.items() if k != "metadata"}


def neutral(body: dict[str, Any]) -> TurnRequest:
    """A provider-neutral summary of a wire request (what a failed call is recorded with)."""
    system = body.get("system", "")
    if isinstance(system, list):
        system = "\n\n".join(str(b.get("text", "")) for b in system if isinstance(b, dict))
    items: list[UserTurn | ToolResult] = []
    for message in body.get("messages", []):
        content = message.get("content") if isinstance(message, dict) else None
        if message.get("role") == "user" and isinstance(content, str):
            items.append(UserTurn(content))
        elif message.get("role") == "user" and isinstance(content, list):
            text = "".join(str(b.get("text", "")) for b in content if b.get("type") == "text")
            if text:
                items.append(UserTurn(text))
    return TurnRequest(
        system=str(system), conversation=tuple(items), max_tokens=int(body.get("max_tokens", 0))
    )


def _error(kind: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message}}


def _frame_data(frame: str) -> dict[str, Any] | None:
    lines = [line.removeprefix("data:").strip() for line in frame.split("\n") if line.startswith("data:")]
    if not lines:
        return None
    try:
        data = json.loads("\n".join(lines))
    except json.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def _error_message(content: bytes) -> str:
    try:
        data = json.loads(content)
        return str(data["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return content[:200].decode("utf-8", errors="replace")


def _whole(recorded: dict[str, Any], message: dict[str, Any]) -> TurnResult:
    """A non-streamed answer as a :class:`TurnResult`."""
    from animas_agent_runner.adapters.anthropic_model import _tool_call

    blocks = message.get("content", [])
    usage = message.get("usage", {})
    inputs = sum(
        int(usage.get(k) or 0)
        for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    )
    calls = tuple(
        _tool_call(b["id"], b["name"], None, b.get("input")) for b in blocks if b.get("type") == "tool_use"
    )
    return TurnResult(
        text="".join(str(b.get("text", "")) for b in blocks if b.get("type") == "text"),
        tool_calls=calls,
        model=str(message.get("model", recorded.get("model", ""))),
        prompt_tokens=inputs,
        completion_tokens=int(usage.get("output_tokens") or 0),
        stop_reason=str(message.get("stop_reason") or ""),
        raw_request=recorded,
        raw_response=message,
    )
