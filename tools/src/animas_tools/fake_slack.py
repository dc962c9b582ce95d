"""A local stand-in for Slack's Web API, for tests: ``chat.postMessage`` over real HTTP.

:class:`FakeSlack` serves ``POST /api/<method>`` on a loopback port (point ``slack_sdk``'s
``base_url`` at :attr:`FakeSlack.api_url`). It checks the bot token like Slack does (a wrong or
missing one is ``{"ok": false, "error": "invalid_auth"}``), records every ``chat.postMessage``
(channel, thread_ts, text) and answers ``{"ok": true, "ts": ...}``; ``failures`` scripts the next
answers as ``(HTTP status, Slack error code)``, e.g. ``(429, "ratelimited")``.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from animas_tools.http_thread import ServedInThread


@dataclasses.dataclass(frozen=True)
class Posted:
    """One ``chat.postMessage`` the fake accepted."""

    channel: str
    thread_ts: str | None
    text: str
    ts: str


class FakeSlack(ServedInThread):
    """Slack's Web API for one bot token; ``posted`` holds what it accepted, ``calls`` every call."""

    thread_name = "fake-slack"

    def __init__(
        self,
        token: str,
        failures: list[tuple[int, str]] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host, port)
        self.token = token
        self.failures = list(failures or [])
        self.posted: list[Posted] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()

    @property
    def api_url(self) -> str:
        """``http://host:port/api/``: the ``base_url`` to give the Slack client."""
        assert self._server is not None, "start the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/api/"

    def _answer(
        self, method: str, authorization: str | None, args: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.calls.append((method, args))
            if authorization != f"Bearer {self.token}":
                return 200, {"ok": False, "error": "invalid_auth"}
            if self.failures:
                status, error = self.failures.pop(0)
                return status, {"ok": False, "error": error}
            if method != "chat.postMessage":
                return 200, {"ok": False, "error": "unknown_method"}
            if not args.get("channel"):
                return 200, {"ok": False, "error": "channel_not_found"}
            if not args.get("text"):
                return 200, {"ok": False, "error": "no_text"}
            ts = f"1765000100.{len(self.posted) + 1:06d}"
            thread_ts = args.get("thread_ts")
            self.posted.append(
                Posted(str(args["channel"]), str(thread_ts) if thread_ts else None, str(args["text"]), ts)
            )
            return 200, {"ok": True, "channel": args["channel"], "ts": ts, "message": {"text": args["text"]}}

    def _make_server(self, address: tuple[str, int]) -> ThreadingHTTPServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if (self.headers.get("Content-Type") or "").startswith("application/json"):
                    args = json.loads(body or b"{}")
                else:
                    args = dict(parse_qsl(body.decode()))
                method = self.path.rsplit("/", 1)[-1]
                status, answer = fake._answer(method, self.headers.get("Authorization"), args)
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                return

        return ThreadingHTTPServer(address, Handler)
