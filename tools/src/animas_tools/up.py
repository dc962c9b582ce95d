"""The body of ``anima up``: config, nats-server, services, readiness, and a clean stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import time
from collections.abc import Callable

import msgspec
import nats
import nats.errors
from nats.aio.client import Client

from animas_contracts import AnimaListReply, MemoryOpApplied
from animas_contracts.subjects import RPC_MEMORY_ANIMAS, SERVICE_NAMES
from animas_core.anima_files import AnimaSpec, company_vision, template_files
from animas_core.config import AnimaWorksConfig, load_config, write_config
from animas_core.home import Home
from animas_core.settings import nats_servers
from animas_core.stream_retention import Retention
from animas_core.streams import ensure_all
from animas_tools.animas_cli import creation_event
from animas_tools.authority import ADMIN_USER
from animas_tools.config_sync import ConfigMirror
from animas_tools.nats_server import (
    NatsServer,
    NatsServerError,
    load_or_create_users,
    load_users,
    persistent_port,
)
from animas_tools.publish import publish_change
from animas_tools.service_env import nats_server_env
from animas_tools.supervisor import Supervisor, local_model_url, read_health_records
from animas_tools.system import SystemInfo

SAMPLE_ANIMA = "sample"

_log = logging.getLogger(__name__)


class AlreadyRunning(RuntimeError):
    """A system already runs under this home."""


def ensure_home(home: Home, say: Callable[[str], None]) -> bool:
    """Write a first config.json (no model yet) and the shared organization files; True if new."""
    vision = home.root / "shared" / "company" / "vision.md"
    if not vision.exists():
        vision.parent.mkdir(parents=True, exist_ok=True)
        (home.root / "shared" / "users").mkdir(parents=True, exist_ok=True)
        vision.write_text(company_vision(), encoding="utf-8")
    if home.config_file.exists():
        load_config(home.config_file)  # fail early, with the field path, if it is invalid
        return False
    write_config(home.config_file, AnimaWorksConfig())
    say(f"wrote {home.config_file} (no model configured yet)")
    return True


async def create_sample(nc: Client, say: Callable[[str], None]) -> None:
    """A first anima, so a newcomer can chat at once (created like any other: by an event)."""
    msg = await nc.request(RPC_MEMORY_ANIMAS, b"{}", timeout=10)
    if msgspec.json.decode(msg.data, type=AnimaListReply).animas:
        return
    spec = AnimaSpec(name=SAMPLE_ANIMA, role="general")
    event = creation_event(SAMPLE_ANIMA, template_files(spec, "general"), "template:general")
    answer = await publish_change(nc, event)
    if isinstance(answer, MemoryOpApplied):
        say(f"created a sample anima '{SAMPLE_ANIMA}' from the general template")
    else:
        say(f"could not create the sample anima: {answer.reason}")


async def run_up(
    home: Home,
    *,
    nats_url: str | None,
    gateway_host: str,
    gateway_port: int,
    ready_timeout_s: float,
    say: Callable[[str], None],
    local_model: bool = True,
    agent_runners: int = 1,
    stream_replicas: int = 1,
) -> int:
    """Bring the system up, report readiness, supervise until SIGINT/SIGTERM; return an exit code.

    ``nats_url`` (one URL, or a cluster's seed URLs comma-separated) uses that NATS instead of
    starting one; the services then connect as the users of ``<home>/nats/users.json`` when the
    operator configured that NATS with them (:mod:`animas_tools.nats_cluster` does), else with no
    user. ``stream_replicas`` is the copies of each stream and bucket provisioned (3 on a cluster).
    """
    if (info := SystemInfo.read(home)) is not None:
        raise AlreadyRunning(f"a system is already running under {home.root} (pid {info.supervisor_pid})")
    if nats_url is None and stream_replicas > 1:
        # The embedded server is one node: JetStream would refuse every stream, after a start.
        raise NatsServerError(
            f"--stream-replicas {stream_replicas} needs a NATS cluster of at least that many members "
            "(--nats-url with every member's URL); the embedded nats-server keeps one copy"
        )
    fresh = ensure_home(home, say)
    server: NatsServer | None = None
    users = None
    if nats_url is None:
        users = load_or_create_users(home.nats_dir / "users.json")
        # One port for the life of the home: a restarted server comes back where services look.
        port = persistent_port(home.nats_dir)
        server = NatsServer(home.nats_dir, users=users, port=port, env=nats_server_env(os.environ)).start()
        nats_url = server.url
        say(f"nats-server with JetStream on {nats_url} (store: {home.nats_dir / 'jetstream'})")
    else:
        users = load_users(home.nats_dir / "users.json")
        as_users = f" as the users of {home.nats_dir / 'users.json'}" if users else ""
        say(f"using NATS at {_redacted(nats_url)}{as_users}")
    admin_pw = users[ADMIN_USER].password if users else None
    nc = await nats.connect(
        nats_servers(nats_url),
        name="animaworks-up",  # as each service names its own: the broker tells its clients apart
        user=ADMIN_USER if admin_pw else None,
        password=admin_pw,
        connect_timeout=5,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        # While the broker restarts, the supervisor says so; nats-py's default would print a
        # traceback for every refused reconnect attempt.
        error_cb=_quiet_connection_errors,
    )
    local_port = free_port() if local_model else None
    supervisor = Supervisor(
        home,
        local_model_port=local_port,
        nats_url=nats_url,
        users=users,
        gateway_host=gateway_host,
        gateway_port=kept_port(gateway_port),
        base_env=dict(os.environ),
        say=say,
        agent_runners=agent_runners,
        nats_server=server,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        retention = Retention.of(load_config(home.config_file).housekeeping)
        partitions = await ensure_all(nc.jetstream(), replicas=stream_replicas, retention=retention)
        copies = f", {stream_replicas} replicas" if stream_replicas > 1 else ""
        say(f"streams ready (ACTIVITY in {partitions} partitions{copies})")
        # With the embedded NATS config.json is the operator's copy: its CONFIG bucket is kept in
        # step. A NATS given by --nats-url (a cluster) has its bucket as the truth: seeded only.
        mirror = ConfigMirror(home.config_file, seed_only=server is None)
        await mirror.sync(nc.jetstream())
        supervisor.start_all()
        gateway_url = await _wait_ready(nc, supervisor, ready_timeout_s, stop, say)
        if gateway_url is None:
            return 1 if not stop.is_set() else 0
        if fresh:
            await create_sample(nc, say)
        local_url = local_model_url(local_port) if local_port is not None else None
        SystemInfo(
            nats_url, gateway_url, os.getpid(), embedded_nats=server is not None, local_model_url=local_url
        ).write(home)
        say(f"AnimaWorks is up: {gateway_url}")
        if local_url is not None:
            say(
                f"bundled local model: {local_url} (animas without a configured model use it; the first "
                "start converts it once, ~25 s, and answers wait for that; `anima status` shows it)"
            )
        say(
            f"try: curl -s -X POST {gateway_url}/api/animas/{SAMPLE_ANIMA}/chat "
            "-H 'content-type: application/json' -d '{\"message\": \"hello\"}'"
        )
        say("press Ctrl-C to stop")
        while not stop.is_set():
            supervisor.check()
            await _mirrored(mirror, nc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.2)
        return 0
    finally:
        say("stopping services...")
        supervisor.stop_all()
        await nc.close()
        SystemInfo.path(home).unlink(missing_ok=True)
        if server is not None:
            server.stop()
        say("stopped")


async def _mirrored(mirror: ConfigMirror, nc: Client) -> None:
    """Publish config.json if it changed; a broker that is away now is asked on the next round."""
    try:
        await mirror.sync(nc.jetstream())
    except (nats.errors.Error, TimeoutError) as exc:
        _log.debug("config not published yet: %r", exc)


async def _quiet_connection_errors(exc: Exception) -> None:
    if not isinstance(exc, OSError | nats.errors.UnexpectedEOF):
        _log.warning("nats: %r", exc)


def kept_port(requested: int) -> int:
    """The port a service listens on for the life of ``anima up``: ``0`` is chosen once, here.

    Passing ``0`` on to the service would let every restart of it pick another port, and clients
    (and ``run/system.json``) would keep the address of the one that crashed.
    """
    return free_port() if requested == 0 else requested


def free_port() -> int:
    """A loopback port free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _wait_ready(
    nc: Client, supervisor: Supervisor, timeout_s: float, stop: asyncio.Event, say: Callable[[str], None]
) -> str | None:
    """Wait until every service reports ready; show progress; return the gateway's URL."""
    began = time.monotonic()
    shown: tuple[list[str], float] | None = None
    while not stop.is_set():
        supervisor.check()
        try:
            records = await read_health_records(nc.jetstream())
        except (nats.errors.Error, TimeoutError):
            records = []  # the broker is restarting (supervisor.check() restarts it): ask again
        # Ready means this very process reported (a replica has a record of its own).
        reported = {(str(r.get("service")), int(str(r.get("pid", -1)))) for r in records}
        expected = [n for n in supervisor.services if n.split("#")[0] in SERVICE_NAMES]
        waiting = [n for n in expected if (n.split("#")[0], supervisor.services[n].pid) not in reported]
        elapsed = time.monotonic() - began
        # Say something when the picture changes, and every 5 s while a wait drags on.
        if shown is None or waiting != shown[0] or elapsed - shown[1] >= 5:
            ready = len(expected) - len(waiting)
            pending = f" (waiting for {', '.join(waiting)})" if waiting else ""
            say(f"[{elapsed:4.0f}s] ready: {ready}/{len(expected)}{pending}")
            shown = (waiting, elapsed)
        if not waiting:
            pid = supervisor.services["gateway"].pid
            gateway = next(r for r in records if (r.get("service"), r.get("pid")) == ("gateway", pid))
            return str(gateway["url"])
        if elapsed > timeout_s:
            logs = supervisor.home.run_dir / "logs"
            say(f"services not ready after {timeout_s:g}s: {', '.join(waiting)}; see {logs}")
            return None
        await asyncio.sleep(0.2)
    return None


def _redacted(url: str) -> str:
    from animas_core.logging import redact

    return redact(url)
