"""The HTTP side of the scripted LLM: routing, request parsing, JSON and SSE responses.

The standard library's threading HTTP server is enough: one thread per request lets a held or
slowly streamed answer coexist with control requests, and it keeps the fake dependency-free.
Responses are HTTP/1.0, so a stream simply ends when the connection closes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

import msgspec

from animas_tools.scripted_llm import anthropic_format, openai_format
from animas_tools.scripted_llm.script import ScriptError

if TYPE_CHECKING:
    from animas_tools.scripted_llm.server import ScriptedLLM

log = logging.getLogger("animas_tools.scripted_llm")

Format = Literal["openai", "anthropic"]
_MODEL_ROUTES: dict[str, Format] = {"/v1/chat/completions": "openai", "/v1/messages": "anthropic"}
_REDACTED_HEADERS = frozenset({"authorization", "x-api-key"})


class Server(ThreadingHTTPServer):
    """A threading HTTP server that knows its :class:`ScriptedLLM`."""

    daemon_threads = True  # a held request must never keep the process alive

    def __init__(self, address: tuple[str, int], llm: ScriptedLLM) -> None:
        super().__init__(address, Handler)
        self.llm = llm


class Handler(BaseHTTPRequestHandler):
    """Answers model calls from the script and serves the ``/_…`` control endpoints."""

    server: Server

    def log_message(self, format: str, *args: Any) -> None:
        # Clients see everything that matters; keep the access log at debug level.
        log.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        llm, path = self.server.llm, urlsplit(self.path).path
        wire: Format = _MODEL_ROUTES[path] if method == "POST" and path in _MODEL_ROUTES else "openai"
        routes: dict[tuple[str, str], Callable[[], tuple[int, Any]]] = {
            ("POST", "/_script"): lambda: llm._load_json(self._json_body()),
            ("GET", "/_requests"): lambda: (200, llm.requests),
            ("POST", "/_release"): lambda: (200, {"released": llm.release()}),
            ("GET", "/_health"): lambda: (200, llm._health()),
        }
        try:
            if method == "POST" and path in _MODEL_ROUTES:
                self._answer(wire)
                return
            route = routes.get((method, path))
            if route is None:
                raise ScriptError(404, f"no route for {method} {path}", "not_found")
            status, body = route()
        except ScriptError as error:
            status, body = error.status, _error_body(wire, error)
        except Exception:
            # The traceback stays in our log; the client only learns that it failed.
            log.exception("scripted LLM: %s %s failed", method, path)
            status, body = 500, _error_body(wire, ScriptError(500, "scripted LLM: internal error"))
        self._send_json(status, body)

    def _answer(self, wire: Format) -> None:
        llm = self.server.llm
        body = self._json_body()
        self._check_key()
        headers = {k.lower(): "***" if k.lower() in _REDACTED_HEADERS else v for k, v in self.headers.items()}
        request = {"path": self.path, "format": wire, "headers": headers, "body": body}
        answer, turn = llm._answer(request)
        if not body.get("stream"):
            payload = (
                openai_format.completion(answer) if wire == "openai" else anthropic_format.message(answer)
            )
            self._send_json(200, payload)
            return
        if wire == "openai":
            frames, failure = openai_format.stream_frames(answer, body), openai_format.stream_error_frame
        else:
            frames, failure = anthropic_format.stream_frames(answer), anthropic_format.stream_error_frame
        if turn.fail_after_events is not None and turn.fail_after_events < len(frames):
            message = turn.error or "scripted LLM: failed mid-stream"
            frames = [*frames[: turn.fail_after_events], failure(message)]
        self._send_stream(frames, turn.chunk_delay_s)

    def _check_key(self) -> None:
        # Checked on the raw headers (the recorded copy is redacted). Either header may carry
        # the key: the anthropic SDK sends a bearer token, litellm's anthropic route x-api-key.
        wanted = self.server.llm.api_key
        bearer = self.headers.get("authorization", "").removeprefix("Bearer ")
        if wanted is not None and wanted not in (bearer, self.headers.get("x-api-key", "")):
            raise ScriptError(401, "scripted LLM: wrong or missing API key", "invalid_api_key")

    def _json_body(self) -> dict[str, Any]:
        try:
            length = int(self.headers.get("Content-Length") or 0)
            body = msgspec.json.decode(self.rfile.read(length)) if length else None
        except (ValueError, msgspec.DecodeError) as exc:
            raise ScriptError(400, f"malformed JSON body: {exc}", "invalid_json") from None
        if not isinstance(body, dict):
            raise ScriptError(400, "request body must be a JSON object", "invalid_json")
        return body

    def _send_json(self, status: int, body: Any) -> None:
        payload = msgspec.json.encode(body)
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            log.debug("scripted LLM: client went away before the response")

    def _send_stream(self, frames: list[bytes], delay_s: float) -> None:
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            for i, data in enumerate(frames):
                if i and delay_s:
                    self.server.llm._pause(delay_s)
                self.wfile.write(data)  # unbuffered: each event leaves at once
        except OSError:
            log.debug("scripted LLM: client went away during the stream")


def _error_body(wire: Format, error: ScriptError) -> dict[str, Any]:
    if wire == "anthropic":
        return anthropic_format.error_body(error.status, error.message, error.code)
    return openai_format.error_body(error.status, error.message, error.code)
