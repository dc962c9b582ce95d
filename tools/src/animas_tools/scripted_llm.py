"""A scripted fake LLM server speaking the OpenAI chat-completions format.

Tests and demos point an OpenAI-compatible client (litellm, httpx, the openai SDK) at
:attr:`ScriptedLLM.openai_base` and get back a fixed sequence of replies, errors, delays
and held responses, with every request recorded for assertions. Run it standalone with
``python -m animas_tools.scripted_llm --script turns.json``.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType, TracebackType
from typing import Annotated, Any, Self
from urllib.parse import urlsplit

import msgspec

log = logging.getLogger(__name__)

_REDACTED_HEADERS = frozenset({"authorization", "x-api-key"})
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
}


class Turn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One scripted reply.

    Attributes:
        text: The assistant message content.
        delay_s: Seconds to wait before answering.
        hold: Block the request until :meth:`ScriptedLLM.release` or the hold timeout.
        status: HTTP status; anything but 200 answers with an OpenAI-style error.
        error: Message of that error.
        prompt_tokens: Reported prompt tokens; ``None`` counts the request's words.
        completion_tokens: Reported completion tokens; ``None`` counts ``text``'s words.
    """

    text: str = ""
    delay_s: Annotated[float, msgspec.Meta(ge=0)] = 0.0
    hold: bool = False
    status: Annotated[int, msgspec.Meta(ge=200, le=599)] = 200
    error: str = ""
    prompt_tokens: Annotated[int, msgspec.Meta(ge=0)] | None = None
    completion_tokens: Annotated[int, msgspec.Meta(ge=0)] | None = None


class _Reply(Exception):
    """Raised inside a handler to answer with a JSON error and stop processing."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


def to_turns(turns: Iterable[Turn | Mapping[str, Any]]) -> tuple[Turn, ...]:
    """Validate turns given as :class:`Turn` or plain dicts (e.g. decoded JSON).

    Raises:
        msgspec.ValidationError: A dict has an unknown field or a badly typed value.
    """
    return tuple(t if isinstance(t, Turn) else msgspec.convert(t, Turn) for t in turns)


def _error_body(status: int, message: str, code: str | None) -> dict[str, Any]:
    kind = _ERROR_TYPES.get(status, "server_error" if status >= 500 else "api_error")
    return {"error": {"message": message, "type": kind, "code": code}}


def _count_words(messages: Any) -> int:
    # A deterministic stand-in for a tokenizer: whitespace-separated words, so tests can
    # predict usage without pulling in tiktoken or a model vocabulary.
    words = 0
    for message in messages if isinstance(messages, list) else ():
        content = message.get("content") if isinstance(message, dict) else None
        parts = content if isinstance(content, list) else [content]
        for part in parts:
            text = part.get("text") if isinstance(part, dict) else part
            words += len(text.split()) if isinstance(text, str) else 0
    return words


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a held request must never keep the process alive

    def __init__(self, address: tuple[str, int], llm: ScriptedLLM) -> None:
        super().__init__(address, _Handler)
        self.llm = llm


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        # Clients see everything that matters; keep the access log at debug level.
        log.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _authorized(self, request: dict[str, Any]) -> dict[str, Any]:
        # Checked on the raw header: the recorded copy is redacted.
        wanted = self.server.llm.api_key
        given = self.headers.get("authorization", "").removeprefix("Bearer ") or self.headers.get(
            "x-api-key", ""
        )
        if wanted is not None and given != wanted:
            raise _Reply(401, "scripted LLM: wrong or missing API key", "invalid_api_key")
        return request

    def _dispatch(self, method: str) -> None:
        llm, path = self.server.llm, urlsplit(self.path).path
        routes: dict[tuple[str, str], Callable[[], tuple[int, Any]]] = {
            ("POST", "/v1/chat/completions"): lambda: llm._complete(self._authorized(self._request())),
            ("POST", "/_script"): lambda: llm._load_json(self._json_body()),
            ("GET", "/_requests"): lambda: (200, llm.requests),
            ("POST", "/_release"): lambda: (200, {"released": llm.release()}),
            ("GET", "/_health"): lambda: (200, llm._health()),
        }
        try:
            route = routes.get((method, path))
            if route is None:
                raise _Reply(404, f"no route for {method} {path}", "not_found")
            status, body = route()
        except _Reply as reply:
            status, body = reply.status, _error_body(reply.status, reply.message, reply.code)
        except Exception:
            # The traceback stays in our log; the client only learns that it failed.
            log.exception("scripted LLM: %s %s failed", method, path)
            status, body = 500, _error_body(500, "scripted LLM: internal error", None)
        self._send(status, body)

    def _json_body(self) -> dict[str, Any]:
        try:
            length = int(self.headers.get("Content-Length") or 0)
            body = msgspec.json.decode(self.rfile.read(length)) if length else None
        except (ValueError, msgspec.DecodeError) as exc:
            raise _Reply(400, f"malformed JSON body: {exc}", "invalid_json") from None
        if not isinstance(body, dict):
            raise _Reply(400, "request body must be a JSON object", "invalid_json")
        return body

    def _request(self) -> dict[str, Any]:
        body = self._json_body()
        headers = {k.lower(): "***" if k.lower() in _REDACTED_HEADERS else v for k, v in self.headers.items()}
        return {"path": self.path, "headers": headers, "body": body}

    def _send(self, status: int, body: Any) -> None:
        payload = msgspec.json.encode(body)
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            log.debug("scripted LLM: client went away before the response")


class ScriptedLLM:
    """An OpenAI-compatible HTTP server answering from a script of :class:`Turn`."""

    def __init__(
        self,
        turns: Sequence[Turn | Mapping[str, Any]] = (),
        *,
        repeat: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
        hold_timeout_s: float = 60.0,
        api_key: str | None = None,
    ) -> None:
        """Prepare the server; nothing listens until :meth:`start`.

        Args:
            turns: The script, as :class:`Turn` or dicts with the same fields.
            repeat: Start over from the first turn once the script is exhausted.
            host: Interface to bind.
            port: Port to bind; 0 picks a free one.
            hold_timeout_s: How long a ``hold`` turn waits for :meth:`release`.
            api_key: When set, requests without this key get a 401 (to prove which key was sent).
        """
        self._address = (host, port)
        self._hold_timeout_s = hold_timeout_s
        self.api_key = api_key
        self._cond = threading.Condition()
        self._turns, self._repeat, self._position, self._served = to_turns(turns), repeat, 0, 0
        self._held: set[threading.Event] = set()
        self._stopping = False
        self._requests: list[dict[str, Any]] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        """Bind and serve in a daemon thread; returns ``self`` for chaining."""
        if self._server is None:
            self._stopping = False
            self._server = _Server(self._address, self)
            # A short poll interval keeps stop() fast; tests start and stop many servers.
            self._thread = threading.Thread(
                target=self._server.serve_forever, args=(0.05,), name="scripted-llm", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Release held requests, then shut the server down (never hangs on a hold)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self.release()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``http://host:port`` of the running server."""
        if self._server is None:
            raise RuntimeError("scripted LLM is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def openai_base(self) -> str:
        """The ``api_base`` for OpenAI-compatible clients (``url`` + ``/v1``)."""
        return self.url + "/v1"

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Chat-completion requests received so far: ``path``, redacted ``headers``, ``body``."""
        with self._cond:
            return list(self._requests)

    def load(self, turns: Sequence[Turn | Mapping[str, Any]], repeat: bool = False) -> None:
        """Replace the script and restart from its first turn (``served`` keeps counting)."""
        validated = to_turns(turns)
        with self._cond:
            self._turns, self._repeat, self._position = validated, repeat, 0

    def release(self) -> int:
        """Let every currently held request answer; returns how many were waiting."""
        with self._cond:
            held, self._held = self._held, set()
        for event in held:
            event.set()
        return len(held)

    def wait_for_requests(self, n: int, timeout_s: float = 5.0) -> bool:
        """Block until at least ``n`` requests were received; ``False`` on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self._requests) >= n, timeout_s)

    def _health(self) -> dict[str, Any]:
        with self._cond:
            return {"ok": True, "served": self._served, "remaining": len(self._turns) - self._position}

    def _load_json(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        turns, repeat = body.get("turns"), body.get("repeat", False)
        if not isinstance(turns, list) or not isinstance(repeat, bool):
            raise _Reply(400, 'expected {"turns": [...], "repeat": bool}', "invalid_script")
        try:
            self.load(turns, repeat=repeat)
        except msgspec.ValidationError as exc:
            raise _Reply(400, f"invalid turn: {exc}", "invalid_script") from None
        return 200, {"ok": True, "turns": len(turns), "repeat": repeat}

    def _take_turn(self, request: dict[str, Any]) -> tuple[int, Turn, threading.Event | None]:
        # Recording, taking the turn and registering the hold happen under one lock, so a
        # release() issued after wait_for_requests() sees the request always frees it.
        with self._cond:
            self._requests.append(request)
            self._cond.notify_all()
            if request["body"].get("stream"):
                raise _Reply(
                    400,
                    "scripted LLM: streaming comes with a later version; send stream=false",
                    "streaming_unsupported",
                )
            if self._position >= len(self._turns) and self._repeat:
                self._position = 0
            if self._position >= len(self._turns):
                raise _Reply(
                    500, f"scripted LLM: script exhausted after {len(self._turns)} turns", "script_exhausted"
                )
            turn = self._turns[self._position]
            self._position += 1
            self._served += 1
            hold = threading.Event() if turn.hold and not self._stopping else None
            if hold is not None:
                self._held.add(hold)
            return self._served, turn, hold

    def _complete(self, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        number, turn, hold = self._take_turn(request)
        if turn.delay_s:
            with self._cond:  # stop() cuts a delay short rather than waiting it out
                self._cond.wait_for(lambda: self._stopping, turn.delay_s)
        if hold is not None and not hold.wait(self._hold_timeout_s):
            with self._cond:
                self._held.discard(hold)
        body = request["body"]
        if turn.status != 200:
            raise _Reply(turn.status, turn.error or f"scripted error (HTTP {turn.status})")
        prompt, completion = turn.prompt_tokens, turn.completion_tokens
        prompt = _count_words(body.get("messages")) if prompt is None else prompt
        completion = len(turn.text.split()) if completion is None else completion
        return 200, {
            "id": f"chatcmpl-scripted-{number}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": str(body.get("model", "scripted")),
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": turn.text}, "finish_reason": "stop"}
            ],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            },
        }


def main(argv: Sequence[str] | None = None) -> None:
    """Serve a script file until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(
        prog="python -m animas_tools.scripted_llm", description="A scripted fake OpenAI-compatible LLM."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--script", type=Path, required=True, help='JSON: a list of turns or {"turns": [...], "repeat": bool}'
    )
    parser.add_argument("--repeat", action="store_true", help="loop over the script")
    parser.add_argument("--url-file", type=Path, help="write the listening URL here")
    args = parser.parse_args(argv)
    try:
        raw = msgspec.json.decode(args.script.read_bytes())
        spec = raw if isinstance(raw, dict) else {"turns": raw}
        turns = to_turns(spec["turns"])
        repeat = bool(args.repeat or spec.get("repeat", False))
    except (OSError, KeyError, TypeError, msgspec.MsgspecError) as exc:
        parser.error(f"bad script {args.script}: {exc!r}")

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with ScriptedLLM(turns, repeat=repeat, host=args.host, port=args.port) as llm:
        print(f"scripted LLM listening on {llm.url}", flush=True)
        if args.url_file is not None:
            # Write then rename so a watcher polling for the file never reads half a URL.
            partial = args.url_file.with_name(args.url_file.name + ".partial")
            partial.write_text(llm.url, encoding="utf-8")
            partial.replace(args.url_file)
        # A timed wait keeps the main thread responsive to signals on every platform.
        while not stop.wait(0.5):
            pass


if __name__ == "__main__":
    main()
