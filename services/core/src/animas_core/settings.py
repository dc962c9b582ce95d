"""Per-service settings, read once from the environment in ``__main__`` and passed down."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from animas_contracts.subjects import DEFAULT_ACTIVITY_PARTITIONS
from animas_core.home import default_home


class NatsSettings(BaseSettings):
    """How a service reaches NATS. Each service has its own user (DESIGN §9, authority)."""

    model_config = SettingsConfigDict(env_prefix="ANIMAWORKS_NATS_", extra="ignore")

    url: str = "nats://127.0.0.1:4222"
    """One server, or a cluster's seed URLs comma-separated (every member: any one may be down)."""
    user: str | None = None
    password: SecretStr | None = None
    connect_timeout_s: int = 5
    max_reconnect_attempts: int = -1
    """-1: never give up. A service outlives any broker outage and resumes where it was (issue #12)."""
    reconnect_wait_s: float = 0.5
    """Pause between reconnect attempts: ``anima up`` restarts a dead broker within a second."""

    @property
    def servers(self) -> list[str]:
        """:attr:`url` as the list of servers nats-py and FastStream connect to."""
        return nats_servers(self.url)


def nats_servers(url: str) -> list[str]:
    """The servers of a NATS URL setting: ``nats://a:4222,nats://b:4222`` is two.

    nats-py takes a list, and would read the comma-separated string as one malformed URL.
    """
    return [part.strip() for part in url.split(",") if part.strip()]


class ServiceSettings(BaseSettings):
    """Settings every service shares. A service subclasses this with its own env prefix."""

    model_config = SettingsConfigDict(env_prefix="ANIMAWORKS_", extra="ignore")

    home: Path = Field(default_factory=default_home)
    config_file: Path | None = None
    """config.json, when it is not in the home (services other than memory-writer run with an
    empty home and read only this file: the animas' files reach them through memory-writer)."""
    log_level: str = "INFO"
    instance_id: str | None = None
    """Distinguishes replicas of one service; defaults to host and pid."""
    ack_wait_s: float = 30.0
    """How long JetStream waits for an ack before redelivering; long handlers send in-progress acks."""
    max_deliveries: int = 5
    """Deliveries of one message before a failing message is dead-lettered."""
    retry_backoff_s: tuple[float, ...] = (1.0, 2.0, 5.0, 10.0, 30.0)
    health_interval_s: float = 5.0
    probe_file: Path | None = None
    """Where the health loop records each round for exec probes (:mod:`animas_core.probe`); None: nowhere."""
    faults: str = ""
    """Comma-separated fault points that kill the process when reached (chaos testing only)."""

    @property
    def config_path(self) -> Path:
        """Where this service reads config.json."""
        return self.config_file or self.home / "config.json"


class ProvisionSettings(BaseSettings):
    """What the operator's provisioning (``python -m animas_core.provision``) reads.

    It connects with :class:`NatsSettings`, as the NATS ``admin`` user: services may not create
    streams.
    """

    model_config = SettingsConfigDict(env_prefix="ANIMAWORKS_", extra="ignore")

    stream_replicas: int = 1
    """Copies of each stream and bucket it creates (3 on a production cluster)."""
    activity_partitions: int = Field(
        default=DEFAULT_ACTIVITY_PARTITIONS, ge=1, le=DEFAULT_ACTIVITY_PARTITIONS
    )
    """Partitions of a new activity stream (an existing one keeps its count). At most the default:
    the broker grants agent-runner one durable per partition up to that many (authority.py)."""
    config_file: Path | None = None
    """config.json whose ``housekeeping`` section sets the DELTAS and BODIES max ages (unset:
    the defaults, 24 hours and for good), and which seeds the CONFIG bucket while it is empty."""
    log_level: str = "INFO"
