"""``anima up``: the embedded nats-server and every service as its own OS process, kept alive."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from animas_contracts.subjects import SERVICE_NAMES, SERVICES_BUCKET
from animas_core.home import Home
from animas_tools.nats_server import NatsServer, NatsUser
from animas_tools.nats_supervision import SupervisedNats
from animas_tools.service_env import service_env

_log = logging.getLogger("animaworks.supervisor")

WRITER = "memory-writer"
RESTART_BACKOFF_S = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
STABLE_AFTER_S = 60.0
"""A service that ran this long without crashing starts its backoff again from the beginning."""


LOCAL_MODEL = "local-llm"
"""The bundled local model's server, supervised like a service (issue #8)."""
NATS_SERVER = "nats-server"
"""The embedded broker's name in ``run/services.json``."""


def _own_settings(service: str, home: Home, gateway_host: str, gateway_port: int) -> dict[str, str]:
    """What the supervisor decides for one service beyond its home, config and NATS user."""
    if service == "gateway":
        return {"ANIMAWORKS_GATEWAY_HOST": gateway_host, "ANIMAWORKS_GATEWAY_PORT": str(gateway_port)}
    if service == "priming":
        return {"ANIMAWORKS_INDEX_DIR": str(home.root / "index")}
    if service == "agent-runner":
        hidden = [str(home.root / p) for p in ("animas", "config.json", "nats", "run", "index")]
        return {
            "ANIMAWORKS_WORKSPACE": str(home.root / "workspace"),
            # The venv's tools (pytest…) are reachable by run_command, nothing else of ours.
            "ANIMAWORKS_COMMAND_PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
            "ANIMAWORKS_HIDDEN_PATHS": json.dumps(hidden),
        }
    return {}


def local_model_url(port: int) -> str:
    """The OpenAI-compatible base URL of the local model server on ``port``."""
    return f"http://127.0.0.1:{port}/v1"


def module_of(service: str) -> str:
    """The module a service runs as: ``agent-runner`` → ``animas_agent_runner``."""
    return "animas_" + service.replace("-", "_")


@dataclasses.dataclass
class ServiceProcess:
    """One supervised service."""

    name: str
    env: dict[str, str]
    log_path: Path
    module: str = ""
    """The module it runs; by default the one of its name (a replica's name has a ``#n`` suffix)."""
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restarts: int = 0
    crashes_in_a_row: int = 0
    restart_at: float | None = None

    def spawn(self) -> None:
        """Start the service process, appending its output to its log file."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", self.module or module_of(self.name)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C reaches the supervisor, which stops children in order
            )
        self.started_at = time.monotonic()
        self.restart_at = None

    @property
    def pid(self) -> int | None:
        """The pid of the running process."""
        return self.process.pid if self.process and self.process.poll() is None else None


class Supervisor:
    """Starts services, restarts crashed ones with backoff, and stops them all in order."""

    def __init__(
        self,
        home: Home,
        *,
        nats_url: str,
        users: Mapping[str, NatsUser] | None,
        gateway_host: str,
        gateway_port: int,
        base_env: Mapping[str, str],
        say: Callable[[str], None],
        local_model_port: int | None = None,
        agent_runners: int = 1,
        nats_server: NatsServer | None = None,
    ) -> None:
        self.home = home
        self._say = say
        logs = home.run_dir / "logs"
        # Only memory-writer sees the anima directories; every other service gets an empty home
        # and the config file, as in Kubernetes, so none can touch memory behind its back.
        service_home = home.run_dir / "service-home"
        service_home.mkdir(parents=True, exist_ok=True)
        self.services: dict[str, ServiceProcess] = {}
        for name in SERVICE_NAMES:
            own = dict(
                ANIMAWORKS_HOME=str(home.root if name == WRITER else service_home),
                ANIMAWORKS_CONFIG_FILE=str(home.config_file),
                ANIMAWORKS_NATS_URL=nats_url,
                PYTHONUNBUFFERED="1",
                **_own_settings(name, home, gateway_host, gateway_port),
            )
            if users is not None:
                own["ANIMAWORKS_NATS_USER"] = users[name].name
                own["ANIMAWORKS_NATS_PASSWORD"] = users[name].password
            if local_model_port is not None and name == "agent-runner":
                own["ANIMAWORKS_LOCAL_MODEL_URL"] = local_model_url(local_model_port)
            # Only what the service reads: model keys reach only the services that call models.
            env = service_env(name, base_env, own)
            self.services[name] = ServiceProcess(name, env, logs / f"{name}.log")
        # More agent-runner replicas share its consumers: the broker hands each partition's next
        # message to one of them, and a dead one's message to another (DESIGN §9).
        runner = self.services["agent-runner"]
        for n in range(2, agent_runners + 1):
            name = f"agent-runner#{n}"
            self.services[name] = ServiceProcess(
                name, dict(runner.env), logs / f"agent-runner-{n}.log", module=module_of("agent-runner")
            )
        if local_model_port is not None:
            # No NATS for it: it is an OpenAI-compatible server that agent-runner calls like any
            # local model server. Its converted weights are cached under the home (models/).
            own = dict(
                ANIMAWORKS_HOME=str(home.root),
                ANIMAWORKS_LOCAL_LLM_HOST="127.0.0.1",
                ANIMAWORKS_LOCAL_LLM_PORT=str(local_model_port),
                PYTHONUNBUFFERED="1",
            )
            env = service_env(LOCAL_MODEL, base_env, own)
            self.services[LOCAL_MODEL] = ServiceProcess(LOCAL_MODEL, env, logs / f"{LOCAL_MODEL}.log")
        self.nats = SupervisedNats(nats_server, say) if nats_server is not None else None
        """The embedded nats-server, restarted first when it dies (None with an external NATS)."""

    def start_all(self) -> None:
        """Spawn every service."""
        for service in self.services.values():
            service.spawn()
        self._write_pids()

    def check(self) -> None:
        """Restart the broker and services that exited, each after its backoff; call this periodically."""
        if self.nats is not None and self.nats.check():
            self._write_pids()
        now = time.monotonic()
        for service in self.services.values():
            process = service.process
            if service.restart_at is not None:
                if now >= service.restart_at:
                    service.spawn()
                    service.restarts += 1
                    self._say(f"restarted {service.name} (restart #{service.restarts}, pid {service.pid})")
                    self._write_pids()
                continue
            if process is None or process.poll() is None:
                continue
            ran_for = now - service.started_at
            service.crashes_in_a_row = 1 if ran_for > STABLE_AFTER_S else service.crashes_in_a_row + 1
            delay = RESTART_BACKOFF_S[min(service.crashes_in_a_row, len(RESTART_BACKOFF_S)) - 1]
            service.restart_at = now + delay
            self._say(
                f"{service.name} exited with code {process.returncode} after {ran_for:.1f}s; "
                f"restarting in {delay:g}s (log: {service.log_path})"
            )

    def stop_all(self, timeout_s: float = 15.0) -> None:
        """SIGTERM every service, wait, then SIGKILL what is left."""
        running = [s.process for s in self.services.values() if s.process and s.process.poll() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for process in running:
            try:
                process.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        (self.home.run_dir / "services.json").unlink(missing_ok=True)

    def _write_pids(self) -> None:
        path = self.home.run_dir / "services.json"
        tmp = path.with_suffix(".tmp")
        pids = {n: s.pid for n, s in self.services.items()}
        if self.nats is not None:
            pids[NATS_SERVER] = self.nats.pid
        tmp.write_text(json.dumps(pids), encoding="utf-8")
        os.replace(tmp, path)


async def read_health_records(js: object) -> list[dict[str, object]]:
    """Every instance's health record (replicas of one service each have their own)."""
    from nats.js import JetStreamContext
    from nats.js.errors import NoKeysError, NotFoundError

    assert isinstance(js, JetStreamContext)
    try:
        kv = await js.key_value(SERVICES_BUCKET)
        keys = await kv.keys()
    except (NotFoundError, NoKeysError):
        return []
    records: list[dict[str, object]] = []
    for key in keys:
        try:
            entry = await kv.get(key)
        except (TimeoutError, NotFoundError):
            continue
        if entry.value:
            records.append(json.loads(entry.value))
    return records


async def read_health(js: object) -> dict[str, dict[str, object]]:
    """Health records by service name (the freshest instance of each)."""
    records: dict[str, dict[str, object]] = {}
    for record in await read_health_records(js):
        name = str(record.get("service"))
        if name not in records or float(str(record["ts"])) > float(str(records[name]["ts"])):
            records[name] = record
    return records
