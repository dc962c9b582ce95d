"""A ``ThreadingHTTPServer`` served from a daemon thread: the lifecycle the tools' test servers share.

The scripted LLM and the OTLP collector both bind a loopback port, serve while a test (or a
person) uses them, and stop fast; this base class owns that part, subclasses own what they serve.
"""

from __future__ import annotations

import abc
import threading
from http.server import ThreadingHTTPServer
from types import TracebackType
from typing import Self


class ServedInThread(abc.ABC):
    """Binds on :meth:`start`, serves in a daemon thread, stops on :meth:`stop` or leaving ``with``."""

    thread_name = "http-server"

    def __init__(self, host: str, port: int) -> None:
        self._address = (host, port)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @abc.abstractmethod
    def _make_server(self, address: tuple[str, int]) -> ThreadingHTTPServer:
        """The bound server (subclasses pass themselves to their request handler)."""

    def _before_stop(self) -> None:  # noqa: B027 - a hook most servers leave empty
        """Hook: release whatever a request may be waiting on, so shutdown never hangs."""

    def start(self) -> Self:
        """Bind and serve in a daemon thread; returns ``self`` for chaining."""
        if self._server is None:
            self._server = self._make_server(self._address)
            # A short poll interval keeps stop() fast; tests start and stop many servers.
            self._thread = threading.Thread(
                target=self._server.serve_forever, args=(0.05,), name=self.thread_name, daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving (what was recorded stays readable)."""
        self._before_stop()
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
            raise RuntimeError(f"{type(self).__name__} is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"
