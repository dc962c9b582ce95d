"""A local stand-in for Slack's Web API, for tests: ``chat.postMessage`` over real HTTP.

:class:`FakeSlack` serves ``POST /api/<method>`` on a loopback port (point ``slack_sdk``'s
``base_url`` at :attr:`FakeSlack.api_url`). It checks the bot token like Slack does (a wrong or
missing one is ``{"ok": false, "error": "invalid_auth"}``), records every ``chat.postMessage``
(channel, thread_ts, text) and answers ``{"ok": true, "ts": ...}``; ``failures`` scripts the next
answers as ``(HTTP status, Slack error code)``, e.g. ``(429, "ratelimited")``.
"""

from __future__ import annotations

import asyncio
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


class FakeSlackSocket:
    """Slack's Socket Mode on a loopback port, with :class:`FakeSlack`'s Web API beside it.

    ``POST /api/apps.connections.open`` with the app-level token answers a ``ws://`` URL on the
    same port; a client that connects there gets ``hello``, then whatever :meth:`send_event`
    pushes as ``events_api`` envelopes; the envelope ids it acknowledges are in :attr:`acks`. Every
    other Web API method (``chat.postMessage``) is :class:`FakeSlack`'s, with the bot token.
    Served by aiohttp in a thread of its own (its event loop is not the test's).
    """

    def __init__(self, app_token: str, bot_token: str, host: str = "127.0.0.1") -> None:
        self.app_token = app_token
        self.web = FakeSlack(bot_token)
        self.acks: list[str] = []
        self.opened = 0
        self._host = host
        self._port = 0
        self._loop: Any = None
        self._runner: Any = None
        self._sockets: list[Any] = []
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._envelopes = 0

    @property
    def api_url(self) -> str:
        """``http://host:port/api/``: the ``base_url`` of both the Socket Mode and the Web API client."""
        return f"http://{self._host}:{self._port}/api/"

    @property
    def posted(self) -> list[Posted]:
        """What ``chat.postMessage`` accepted."""
        return self.web.posted

    def connected(self) -> int:
        """How many Socket Mode connections are open now."""
        return len([ws for ws in self._sockets if not ws.closed])

    def send_event(self, payload: dict[str, Any], retry_attempt: int = 0) -> str:
        """Push an ``events_api`` envelope carrying ``payload`` to the newest connection; its id."""
        self._envelopes += 1
        envelope_id = f"env-{self._envelopes}"
        envelope = {"envelope_id": envelope_id, "type": "events_api", "payload": payload,
                    "accepts_response_payload": False, "retry_attempt": retry_attempt,
                    "retry_reason": "timeout" if retry_attempt else ""}  # fmt: skip

        async def push() -> None:
            open_sockets = [ws for ws in self._sockets if not ws.closed]
            if not open_sockets:
                raise RuntimeError("no Socket Mode client is connected")
            await open_sockets[-1].send_str(json.dumps(envelope))

        asyncio.run_coroutine_threadsafe(push(), self._loop).result(timeout=5)
        return envelope_id

    def start(self) -> FakeSlackSocket:
        """Serve in a thread until :meth:`stop`."""
        self._thread = threading.Thread(target=self._serve, name="fake-slack-socket", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout=10):
            raise RuntimeError("the fake Socket Mode server did not start")
        return self

    def stop(self) -> None:
        """Close every connection and stop serving."""
        if self._loop is None:
            return

        async def close() -> None:
            for ws in self._sockets:
                await ws.close()
            await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._loop = None

    def __enter__(self) -> FakeSlackSocket:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _serve(self) -> None:
        from aiohttp import WSMsgType, web

        async def api(request: web.Request) -> web.Response:
            method = request.match_info["method"]
            body = await request.read()
            if (request.content_type or "").startswith("application/json"):
                args = json.loads(body or b"{}")
            else:
                args = dict(parse_qsl(body.decode()))
            authorization = request.headers.get("Authorization")
            if method == "apps.connections.open":
                if authorization != f"Bearer {self.app_token}":
                    return web.json_response({"ok": False, "error": "invalid_auth"})
                self.opened += 1
                return web.json_response(
                    {"ok": True, "url": f"ws://{self._host}:{self._port}/link/?ticket=t{self.opened}"}
                )
            status, answer = self.web._answer(method, authorization, args)
            return web.json_response(answer, status=status)

        async def link(request: web.Request) -> web.WebSocketResponse:
            ws = web.WebSocketResponse(autoping=True)
            await ws.prepare(request)
            self._sockets.append(ws)
            await ws.send_str(json.dumps({"type": "hello", "num_connections": 1}))
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    acked = json.loads(message.data).get("envelope_id")
                    if acked:
                        self.acks.append(str(acked))
            return ws

        async def main() -> None:
            app = web.Application()
            app.router.add_post("/api/{method}", api)
            app.router.add_get("/link/", link)
            self._runner = web.AppRunner(app, access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, self._host, 0)
            await site.start()
            self._port = int(self._runner.addresses[0][1])
            self._ready.set()

        self._loop = asyncio.new_event_loop()
        self._loop.run_until_complete(main())
        self._loop.run_forever()
        self._loop.close()
