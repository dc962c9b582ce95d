"""Per-anima projection snapshots: when to take one, taking it, and finding one a rebuild may trust.

memory-writer projects ACTIVITY in stream order with one event in flight, so after it has
projected the event at sequence S, an anima's directory reflects every event of that anima up
to S. A snapshot records that S and the id of the event stored there; a rebuild restores the
newest snapshot that still matches the stream and replays only the anima's later events. Any
doubt (unreadable tar, another format or projection version, an event at S that is not the
recorded one: the stream was recreated or trimmed) means a full replay, with the reason logged
and returned to the operator, never a guess.

``housekeeping.snapshot_every_events`` (config.json, re-read on change) sets how many of an
anima's events pass between snapshots (0: none), ``housekeeping.snapshots_kept`` how many stay.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator
from typing import cast

from nats.aio.msg import Msg
from nats.js import JetStreamContext

from animas_contracts.subjects import HEADER_MSG_ID, stored_activity_filter
from animas_core.config import AnimaWorksConfig, CachedConfig, ConfigError
from animas_core.home import Home
from animas_core.streams import read_stored
from animas_memory_writer.adapters.snapshot_files import (
    FORMAT,
    PROJECTION,
    Manifest,
    SnapshotFiles,
    SnapshotUnusable,
)

_log = logging.getLogger(__name__)


class Snapshots:
    """Counts each anima's projected events, takes snapshots, and restores the newest trusted one."""

    def __init__(self, home: Home, config: CachedConfig, js: JetStreamContext) -> None:
        self._home = home
        self._config = config
        self._js = js
        self.files = SnapshotFiles(home.root / "snapshots")
        self._since: dict[str, int] = {}
        """Events projected per anima since its last snapshot (or since this process started)."""

    def _housekeeping(self) -> tuple[int, int]:
        try:
            config = self._config.get()
        except ConfigError:
            config = AnimaWorksConfig()
        return config.housekeeping.snapshot_every_events, config.housekeeping.snapshots_kept

    def counted(self, anima: str, events: int = 1) -> bool:
        """Count projected events of an anima; whether a snapshot is now due."""
        every, _ = self._housekeeping()
        self._since[anima] = self._since.get(anima, 0) + events
        return every > 0 and self._since[anima] >= every

    def take(self, anima: str, seq: int, event_id: str | None) -> int | None:
        """Snapshot an anima's directory as of ``seq`` (call with the projection lock held).

        Returns the sequence, or None when the anima has no directory (nothing to snapshot).
        """
        directory = self._home.anima_dir(anima)
        if not directory.is_dir():
            return None
        manifest = Manifest(format=FORMAT, projection=PROJECTION, anima=anima, seq=seq, event_id=event_id)
        self.files.write(manifest, directory)
        self.files.prune(anima, self._housekeeping()[1])
        self._since[anima] = 0
        _log.info("snapshot taken", extra={"anima": anima, "seq": seq})
        return seq

    def forget(self, anima: str) -> None:
        """Start counting an anima's events again (after a rebuild)."""
        self._since.pop(anima, None)

    async def restore_latest(self, anima: str, fallbacks: list[str]) -> int | None:
        """Restore the newest snapshot that matches the stream; its sequence, or None (replay all).

        Each snapshot passed over adds its reason to ``fallbacks``. The anima's directory must
        have been reset by the caller; a failed restore leaves it reset again.
        """
        directory = self._home.anima_dir(anima)
        for path in self.files.newest_first(anima):
            try:
                manifest = self.files.manifest(path)
                await self._check_against_stream(manifest)
                await asyncio.to_thread(self.files.restore, path, directory)
            except SnapshotUnusable as exc:
                reason = f"{anima}: {exc}"
                _log.warning("snapshot not used; falling back", extra={"anima": anima, "reason": reason})
                fallbacks.append(reason)
                continue
            _log.info("snapshot restored", extra={"anima": anima, "seq": manifest.seq})
            return manifest.seq
        return None

    async def _check_against_stream(self, manifest: Manifest) -> None:
        """The event stored at the snapshot's sequence must be the one it recorded."""
        if manifest.event_id is None:
            raise SnapshotUnusable(f"snapshot at seq {manifest.seq} names no event to check")
        stored = await first_stored(self._js, manifest.seq)
        if stored is None or stored.metadata.sequence.stream != manifest.seq:
            raise SnapshotUnusable(f"the event at seq {manifest.seq} is no longer in the stream")
        found = (stored.headers or {}).get(HEADER_MSG_ID)
        if found != manifest.event_id:
            raise SnapshotUnusable(
                f"seq {manifest.seq} holds event {found}, the snapshot reflects {manifest.event_id} "
                "(was the stream recreated?)"
            )


async def first_stored(js: JetStreamContext, seq: int) -> Msg | None:
    """The first activity message stored at or after ``seq``, or None."""
    scan = read_stored(js, stored_activity_filter(), start_seq=seq, batch=1)
    async with contextlib.aclosing(cast(AsyncGenerator[Msg, None], scan)) as messages:
        async for msg in messages:
            return msg
    return None
