"""A JetStream cluster of nats-server processes on loopback ports: production's broker on one machine.

Each member is configured as infra/nats/nats-cluster.conf configures a pod of the Kubernetes
``nats`` StatefulSet: one cluster named ``animaworks`` whose routes name every member, a server
name and JetStream store of its own, and the users and permissions of infra/nats/accounts.conf
(rendered by :func:`animas_tools.infra.render_accounts` from authority.py), their passwords in the
server's environment as the ``nats-users`` Secret gives them. Only the addresses differ: loopback
ports chosen free once and kept, so a member brought back after a crash is where its peers and
clients look for it.

The services reach it through every member's URL (:attr:`NatsCluster.url`, comma-separated, as
``ANIMAWORKS_NATS_URL`` and ``anima up --nats-url`` take it). The cluster test (tests/cluster/)
SIGKILLs a member with :meth:`NatsCluster.kill` and brings it back with :meth:`NatsCluster.restart`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import socket
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from animas_tools.infra import password_variable, render_accounts
from animas_tools.nats_server import NatsServer, NatsServerError, NatsUser

CLUSTER_NAME = "animaworks"
"""The ``cluster.name`` of infra/nats/nats-cluster.conf."""
MEMBER_PREFIX = "nats-"
"""Members are named as the StatefulSet's pods: ``nats-0``, ``nats-1``…"""
ACCOUNTS_FILE = "accounts.conf"


@dataclasses.dataclass(frozen=True)
class MemberPorts:
    """The loopback ports of one member, kept across its restarts."""

    client: int
    cluster: int
    monitoring: int


def member_config(name: str, ports: MemberPorts, routes: list[int], store_dir: Path, host: str) -> str:
    """One member's config: nats-cluster.conf's settings on loopback ports, accounts.conf included."""
    route_urls = ", ".join(f"nats://{host}:{port}" for port in routes)
    return "\n".join(
        [
            f"server_name: {json.dumps(name)}",
            f"listen: {json.dumps(f'{host}:{ports.client}')}",
            f"http: {json.dumps(f'{host}:{ports.monitoring}')}",
            "max_payload: 1MB",
            f"jetstream {{ store_dir: {json.dumps(str(store_dir))}, max_memory_store: 256M, "
            "max_file_store: 2G }",
            f"cluster {{ name: {CLUSTER_NAME}, listen: {json.dumps(f'{host}:{ports.cluster}')}, "
            f"routes: [{route_urls}] }}",
            # Relative: nats-server resolves an include against the including file's folder.
            f"include ./{ACCOUNTS_FILE}",
            "",
        ]
    )


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """``count`` distinct ports free right now (all held open together while they are picked)."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind((host, 0))
        return [int(sock.getsockname()[1]) for sock in socks]


class NatsCluster:
    """``size`` nats-server members forming one JetStream cluster, with the production users."""

    def __init__(
        self,
        work_dir: Path,
        users: Mapping[str, NatsUser],
        *,
        size: int = 3,
        host: str = "127.0.0.1",
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.work_dir = work_dir
        self._host = host
        picked = free_ports(3 * size, host)
        self.ports = {f"{MEMBER_PREFIX}{n}": MemberPorts(*picked[3 * n : 3 * n + 3]) for n in range(size)}
        routes = [p.cluster for p in self.ports.values()]
        # The passwords reach accounts.conf's $<USER>_PASSWORD variables through the environment
        # only. nats-server parses a variable's value as config, so it is given quoted: a random
        # password that begins with a digit would otherwise be read as a (malformed) number.
        server_env = {
            **(env or {}),
            **{password_variable(u.name)[1:]: json.dumps(u.password) for u in users.values()},
        }
        self.members: dict[str, NatsServer] = {}
        for name, ports in self.ports.items():
            member_dir = work_dir / name
            config = member_config(name, ports, routes, member_dir / "jetstream", host)
            self.members[name] = NatsServer(
                member_dir, port=ports.client, host=host, env=server_env, config=config
            )

    @property
    def urls(self) -> list[str]:
        """Every member's client URL: the seed list a service is given."""
        return [f"nats://{self._host}:{p.client}" for p in self.ports.values()]

    @property
    def url(self) -> str:
        """The seed URLs comma-separated, as ``ANIMAWORKS_NATS_URL`` takes them."""
        return ",".join(self.urls)

    def start(self, timeout_s: float = 60.0) -> NatsCluster:
        """Start every member and wait until each is healthy with JetStream (a meta leader elected)."""
        for name, member in self.members.items():
            self._write_accounts(name)
            member.start()
        for name in self.members:
            self.wait_healthy(name, timeout_s)
        return self

    def kill(self, name: str) -> int:
        """SIGKILL member ``name`` now (no shutdown of any kind); return its pid."""
        member = self.members[name]
        pid = member.pid
        if pid is None or member.process is None:
            raise NatsServerError(f"{name} is not running")
        os.kill(pid, signal.SIGKILL)
        member.process.wait()
        member.process = None
        return pid

    def restart(self, name: str, timeout_s: float = 60.0) -> None:
        """Start member ``name`` again on its ports and store; return once it is healthy."""
        self.members[name].start()
        self.wait_healthy(name, timeout_s)

    def stop(self) -> None:
        """SIGTERM every member still running."""
        for member in self.members.values():
            member.stop()

    def healthy(self, name: str) -> bool:
        """Whether ``name``'s monitoring endpoint says it serves clients with JetStream ready."""
        url = f"http://{self._host}:{self.ports[name].monitoring}/healthz"
        try:
            return httpx.get(url, timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def meta_leader(self) -> str | None:
        """The member leading the JetStream meta group (it places streams and consumers).

        As the first running member's monitoring endpoint reports it; None while none is elected.
        """
        for name, ports in self.ports.items():
            if self.members[name].pid is None:
                continue
            try:
                jsz = httpx.get(f"http://{self._host}:{ports.monitoring}/jsz", timeout=2).json()
            except (httpx.TransportError, ValueError):
                continue
            leader = (jsz.get("meta_cluster") or {}).get("leader")
            return str(leader) if leader else None
        return None

    def client_names(self, name: str) -> list[str]:
        """The connection names (``animaworks-<service>``…) of the clients connected to ``name`` now."""
        url = f"http://{self._host}:{self.ports[name].monitoring}/connz?limit=4096"
        connections = httpx.get(url, timeout=2).json().get("connections") or []
        return sorted(str(c.get("name") or "?") for c in connections)

    def wait_healthy(self, name: str, timeout_s: float) -> None:
        """Wait until :meth:`healthy`; fail naming the member's log after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while not self.healthy(name):
            if time.monotonic() > deadline:
                log = self.members[name].work_dir / "nats-server.log"
                raise NatsServerError(f"{name} not healthy after {timeout_s:g}s; see {log}")
            time.sleep(0.1)

    def _write_accounts(self, name: str) -> None:
        member_dir = self.work_dir / name
        member_dir.mkdir(parents=True, exist_ok=True)
        (member_dir / ACCOUNTS_FILE).write_text(render_accounts(), encoding="utf-8")
