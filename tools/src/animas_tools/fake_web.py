"""A local stand-in for the web services external tools call, for tests: routes answered as told.

:class:`FakeWeb` answers each ``(method, path)`` route it was given with a fixed :class:`Reply`
(status, headers, body) and records every request (method, path, query, headers, body); a path
without a route is 404. It stands in for a search provider (SearXNG, Brave, Tavily), GitHub's REST
API, or any page ``http_fetch`` reads, over real HTTP on a loopback port.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from animas_tools.http_thread import ServedInThread


@dataclasses.dataclass(frozen=True)
class Reply:
    """What a route answers."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    delay_s: float = 0.0
    """How long the route takes before it answers (a slow service; the fake's thread waits)."""

    @classmethod
    def json(cls, value: Any, status: int = 200) -> Reply:
        """``value`` as a JSON body."""
        return cls(status, json.dumps(value).encode(), {"Content-Type": "application/json"})

    @classmethod
    def text(cls, text: str, content_type: str = "text/plain; charset=utf-8", status: int = 200) -> Reply:
        """``text`` as a body of ``content_type``."""
        return cls(status, text.encode(), {"Content-Type": content_type})

    @classmethod
    def redirect(cls, location: str, status: int = 302) -> Reply:
        """A redirect to ``location``."""
        return cls(status, b"", {"Location": location})


@dataclasses.dataclass(frozen=True)
class Request:
    """One request the fake got."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)


class FakeWeb(ServedInThread):
    """Answers ``routes`` (``{("GET", "/search"): Reply(...)}``); records every request."""

    thread_name = "fake-web"

    def __init__(
        self, routes: dict[tuple[str, str], Reply] | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        super().__init__(host, port)
        self.routes = dict(routes or {})
        self.requests: list[Request] = []
        self._lock = threading.Lock()

    def _make_server(self, address: tuple[str, int]) -> ThreadingHTTPServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                parts = urlsplit(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                request = Request(
                    self.command, parts.path, parse_qs(parts.query), dict(self.headers.items()), body
                )
                with fake._lock:
                    fake.requests.append(request)
                    reply = fake.routes.get((self.command, parts.path), Reply(404, b"not found"))
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            do_GET = do_POST = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return ThreadingHTTPServer(address, Handler)
