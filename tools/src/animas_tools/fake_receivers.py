"""Local stand-ins for the places notifications go, for tests: an HTTP receiver and an SMTP server.

:class:`FakeReceiver` records every POST (path, headers, body) and answers with the statuses it
was given, then 200; it stands in for ntfy, a Slack incoming webhook, Chatwork or a signed
webhook. :class:`FakeSmtp` speaks just enough SMTP (no TLS, no auth) to accept mail and record it.
"""

from __future__ import annotations

import dataclasses
import socket
import socketserver
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self

from animas_tools.http_thread import ServedInThread


@dataclasses.dataclass(frozen=True)
class Received:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes


class FakeReceiver(ServedInThread):
    """Records POSTs; answers ``statuses`` in turn (then 200)."""

    thread_name = "fake-receiver"

    def __init__(self, statuses: list[int] | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self.statuses = list(statuses or [])
        self.received: list[Received] = []
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """``http://host:port`` of the running receiver."""
        assert self._server is not None, "start the receiver first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def keys(self) -> list[str]:
        """The idempotency key of each request received, in order."""
        return [r.headers.get("Idempotency-Key", "") for r in self.received]

    def _make_server(self, address: tuple[str, int]) -> ThreadingHTTPServer:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    receiver.received.append(Received(self.path, dict(self.headers.items()), body))
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                payload = b'{"ok": true}' if status < 300 else b'{"error": "refused by the fake"}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                return

        return ThreadingHTTPServer(address, Handler)


class FakeSmtp:
    """A minimal SMTP server on a loopback port; ``messages`` holds (sender, recipients, data)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        smtp = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                def say(line: str) -> None:
                    self.wfile.write(line.encode() + b"\r\n")

                say("220 fake-smtp ready")
                sender, recipients = "", list[str]()
                while line := self.rfile.readline():
                    verb = line.decode(errors="replace").strip()
                    upper = verb.upper()
                    if upper.startswith(("EHLO", "HELO")):
                        say("250 fake-smtp")
                    elif upper.startswith("MAIL FROM:"):
                        sender, recipients = verb[10:].strip(" <>"), []
                        say("250 ok")
                    elif upper.startswith("RCPT TO:"):
                        recipients.append(verb[8:].strip(" <>"))
                        say("250 ok")
                    elif upper == "DATA":
                        say("354 end with .")
                        data = b""
                        while (chunk := self.rfile.readline()) not in (b".\r\n", b".\n", b""):
                            data += chunk
                        smtp.messages.append((sender, recipients, data))
                        say("250 queued")
                    elif upper == "QUIT":
                        say("221 bye")
                        return
                    else:
                        say("250 ok")

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True

        self._server = Server((host, port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(self._server.server_address[1])

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()


def free_port() -> int:
    """A loopback port nothing listens on (for a receiver that refuses connections)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
