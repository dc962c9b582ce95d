"""``python -m animas_core.provision``: the operator creates the streams and buckets.

Services may not create or change streams (their NATS users lack the right), so this runs
before them, as the NATS ``admin`` user: a Kubernetes Job, compose's ``provision`` service.
``anima up`` does the same in-process. Running it again changes nothing but what an earlier
build left behind (direct gets turned on, retired durables removed). With
``ANIMAWORKS_CONFIG_FILE`` it also seeds the ``CONFIG`` bucket from that file, once: while the
bucket holds no config (:mod:`animas_core.config_store`).
"""

from __future__ import annotations

import asyncio
import logging
import sys

import nats

from animas_core.config import load_config
from animas_core.config_store import seed_config
from animas_core.logging import configure_logging
from animas_core.settings import NatsSettings, ProvisionSettings
from animas_core.stream_retention import Retention
from animas_core.streams import ensure_all

_log = logging.getLogger(__name__)


async def provision(connection: NatsSettings, settings: ProvisionSettings) -> int:
    """Provision everything; return the activity stream's partition count."""
    password = connection.password.get_secret_value() if connection.password else None
    nc = await nats.connect(
        connection.servers,
        user=connection.user,
        password=password,
        connect_timeout=connection.connect_timeout_s,
        allow_reconnect=False,
    )
    config = load_config(settings.config_file) if settings.config_file else None
    try:
        partitions = await ensure_all(
            nc.jetstream(),
            partitions=settings.activity_partitions,
            replicas=settings.stream_replicas,
            retention=Retention.of(config.housekeeping) if config else Retention(),
        )
        # The file seeds the CONFIG bucket once; after that `anima config set` changes it there,
        # and a rerun of this job must not undo that.
        if config is not None and await seed_config(nc.jetstream(), config):
            _log.info("config bucket seeded", extra={"from": str(settings.config_file)})
        return partitions
    finally:
        await nc.close()


def main() -> int:
    """Provision, log what was done, and exit 0 (or 1 with the reason)."""
    settings = ProvisionSettings()
    configure_logging("provision", settings.log_level)
    try:
        partitions = asyncio.run(provision(NatsSettings(), settings))
    except Exception as exc:
        _log.error("provisioning failed: %r", exc)
        return 1
    _log.info("streams and buckets ready", extra={"activity_partitions": partitions})
    return 0


if __name__ == "__main__":
    sys.exit(main())
