"""The operator's side of the ``CONFIG`` bucket: publish a config and see every running instance take it.

Services follow the bucket (:class:`animas_core.config_store.ConfigFeed`) and report the revision
they hold in their health record (``config_revision``) as soon as they take one, so the operator
can wait until every replica runs with a change instead of guessing. ``anima up`` keeps the
bucket of its own (embedded) NATS in step with the home's config.json (:class:`ConfigMirror`), so
an edit of the file by hand, by ``PUT /api/config`` or by ``anima token`` reaches every service as
well; with ``--nats-url`` it only seeds an empty bucket.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from pathlib import Path

from nats.js import JetStreamContext
from nats.js.errors import KeyWrongLastSequenceError

from animas_core.config import AnimaWorksConfig, ConfigError, load_config
from animas_core.config_store import publish_config, push_config
from animas_core.streams import SERVICES_TTL_S
from animas_tools.supervisor import read_health_records

_log = logging.getLogger(__name__)

APPLY_TIMEOUT_S = SERVICES_TTL_S + 5.0
"""How long the operator waits for every instance: longer than a health record lives, so the record
of an instance that died (and so never takes the revision) is gone before the wait ends."""


@dataclasses.dataclass(frozen=True)
class Applied:
    """A published revision and which running instances hold it."""

    revision: int
    holding: tuple[str, ...]
    behind: tuple[str, ...]


async def instances_behind(js: JetStreamContext, revision: int) -> tuple[list[str], list[str]]:
    """(holding, behind): running instances that report holding ``revision`` (or later), and the rest."""
    holding: list[str] = []
    behind: list[str] = []
    for record in await read_health_records(js):
        held = record.get("config_revision")
        if not isinstance(held, int):
            continue  # an instance of a build that does not follow the bucket
        name = f"{record.get('service')}/{record.get('instance')}"
        (holding if held >= revision else behind).append(name)
    return sorted(holding), sorted(behind)


async def apply_config(
    js: JetStreamContext, config: AnimaWorksConfig, *, timeout_s: float = APPLY_TIMEOUT_S, poll_s: float = 0.1
) -> Applied:
    """Publish ``config`` (unless the bucket holds it already) and wait until every instance holds it."""
    revision = await push_config(js, config)
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        holding, behind = await instances_behind(js, revision)
        if not behind or asyncio.get_running_loop().time() >= deadline:
            return Applied(revision, tuple(holding), tuple(behind))
        await asyncio.sleep(poll_s)


class ConfigMirror:
    """``anima up``: publishes the home's config.json to the bucket whenever the file changes.

    With ``seed_only`` (``anima up --nats-url``: a cluster's bucket is its config, changed with
    ``anima config set --nats-url``) the file is published only while the bucket holds no config,
    and never over one: a home's file must not undo the cluster operator's changes.
    """

    def __init__(self, path: Path, *, seed_only: bool = False) -> None:
        self._path = path
        self._seed_only = seed_only
        self._seeded = False
        self._stamp: tuple[int, int] | None = None

    async def sync(self, js: JetStreamContext) -> int | None:
        """Publish the file if it changed since the last call; the revision, or None if nothing was done.

        An invalid file is logged and left out: services keep the last valid config.
        """
        try:
            stat = self._path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
        except FileNotFoundError:
            stamp = (0, -1)
        if stamp == self._stamp or self._seeded:
            return None
        try:
            config = load_config(self._path)
        except ConfigError as exc:
            _log.warning("config.json not published: %s", exc)
            self._stamp = stamp
            return None
        if self._seed_only:
            try:
                revision = await publish_config(js, config, last=0)
            except KeyWrongLastSequenceError:
                revision = None  # the bucket holds a config: it is the truth, left as it is
            self._seeded = True  # from here on this file is never published (a broker error: tried again)
            return revision
        revision = await push_config(js, config)
        self._stamp = stamp  # only once published: a failed publish is tried again
        return revision
