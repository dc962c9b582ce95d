"""A local stand-in for an IMAP mailbox, for tests: just enough IMAP4rev1 for imaplib to read mail.

:class:`FakeImap` holds messages (raw RFC 5322 bytes, UIDs 1, 2, …) in one mailbox and answers
CAPABILITY, LOGIN (one user and password), SELECT/EXAMINE, UID SEARCH ALL, UID FETCH of
``BODY.PEEK[HEADER]`` or ``BODY.PEEK[]``, NOOP and LOGOUT, without TLS. Every command line it got
is kept in ``commands`` (the LOGIN line with its password masked). :class:`FakeSmtp` (in
:mod:`animas_tools.fake_receivers`) is its sending counterpart.
"""

from __future__ import annotations

import re
import socketserver
import threading
from types import TracebackType
from typing import Self

_FETCH = re.compile(r"^UID FETCH (\S+) \((.*)\)$", re.IGNORECASE)


class FakeImap:
    """A minimal IMAP server on a loopback port with one mailbox."""

    def __init__(
        self, user: str, password: str, messages: list[bytes] | None = None, host: str = "127.0.0.1"
    ) -> None:
        self.user, self.password = user, password
        self.messages = list(messages or [])
        self.commands: list[str] = []
        imap = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                def say(data: bytes | str) -> None:
                    self.wfile.write((data.encode() if isinstance(data, str) else data) + b"\r\n")

                say("* OK fake-imap ready")
                authenticated = False
                while line := self.rfile.readline():
                    tag, _, rest = line.decode(errors="replace").strip().partition(" ")
                    verb = rest.split(" ", 1)[0].upper()
                    imap.commands.append(f"{tag} LOGIN ***" if verb == "LOGIN" else f"{tag} {rest}")
                    if verb == "CAPABILITY":
                        say("* CAPABILITY IMAP4rev1")
                        say(f"{tag} OK done")
                    elif verb == "LOGIN":
                        _, user, password = rest.split(" ", 2)
                        authenticated = (user.strip('"'), password.strip('"')) == (imap.user, imap.password)
                        say(f"{tag} OK logged in" if authenticated else f"{tag} NO [AUTHENTICATIONFAILED] no")
                    elif not authenticated and verb != "LOGOUT":
                        say(f"{tag} BAD log in first")
                    elif verb in ("SELECT", "EXAMINE"):
                        say(f"* {len(imap.messages)} EXISTS")
                        say(f"{tag} OK [READ-ONLY] done")
                    elif rest.upper() == "UID SEARCH ALL":
                        say("* SEARCH " + " ".join(str(n) for n in range(1, len(imap.messages) + 1)))
                        say(f"{tag} OK done")
                    elif found := _FETCH.match(rest):
                        self._fetch(found.group(1), found.group(2).upper())
                        say(f"{tag} OK done")
                    elif verb == "LOGOUT":
                        say("* BYE")
                        say(f"{tag} OK bye")
                        return
                    else:
                        say(f"{tag} OK done")

            def _fetch(self, uids: str, item: str) -> None:
                for uid in (int(u) for u in uids.split(",") if u.isdigit()):
                    if not 1 <= uid <= len(imap.messages):
                        continue
                    raw = imap.messages[uid - 1]
                    header = "HEADER" in item
                    data = raw.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n" if header else raw
                    name = "BODY[HEADER]" if header else "BODY[]"
                    self.wfile.write(f"* {uid} FETCH (UID {uid} {name} {{{len(data)}}}\r\n".encode())
                    self.wfile.write(data + b")\r\n")

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True

        self._server = Server((host, 0), Handler)
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
