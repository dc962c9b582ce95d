"""The storm guards as a :class:`~animas_outbound.checks.Check`, with their windows in KV.

The windows live in the ``GUARDS`` bucket, not in the process: outbound restarts and may run as
replicas, and a window must hold across both. Each window is read, judged
(:func:`animas_outbound.storm.judge`) and written back at the revision it was read at; a write
that lost a race is judged again from the fresh windows. Recording is idempotent by request id,
so a redelivered request is counted once.

Register it last among the checks: it counts the message it lets through, so a check after it
that refused would leave a message counted that was never sent.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Protocol

from nats.js.client import JetStreamContext
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError

from animas_contracts import OutboundRequested
from animas_contracts.subjects import GUARDS_BUCKET
from animas_core.errors import RetryableError
from animas_core.messaging_config import MessagingConfig
from animas_outbound import storm
from animas_outbound.domain import Refusal
from animas_outbound.ports import AnimaDirectory

_log = logging.getLogger(__name__)

ATTEMPTS = 5
"""How often a request is judged again after its windows changed under it."""


class WindowConflict(Exception):
    """A window changed since it was read: judge again."""


class WindowStore(Protocol):
    """Where the windows are kept, each with the revision it was read at (None: not stored)."""

    async def read(self, key: str) -> tuple[storm.Window, int | None]:
        """The window at ``key`` and its revision."""
        ...

    async def write(self, key: str, window: storm.Window, revision: int | None) -> None:
        """Store ``window`` if ``key`` is still at ``revision``; else raise :class:`WindowConflict`."""
        ...


class KvWindows:
    """The windows in the ``GUARDS`` KV bucket, as JSON lists of ``[request_id, time]``."""

    def __init__(self, js: JetStreamContext) -> None:
        self._js = js

    async def read(self, key: str) -> tuple[storm.Window, int | None]:
        kv = await self._js.key_value(GUARDS_BUCKET)
        try:
            entry = await kv.get(key)
        except KeyNotFoundError:
            return (), None
        if not entry.value:
            return (), entry.revision
        return storm.decode(json.loads(entry.value)), entry.revision

    async def write(self, key: str, window: storm.Window, revision: int | None) -> None:
        kv = await self._js.key_value(GUARDS_BUCKET)
        data = json.dumps(storm.encode(window)).encode()
        try:
            if revision is None:
                await kv.create(key, data)
            else:
                await kv.update(key, data, last=revision)
        except KeyWrongLastSequenceError as exc:
            raise WindowConflict(key) from exc


class StormGuards:
    """One per cycle, rate by role, bilateral and cascade (``messaging`` in config.json)."""

    def __init__(
        self, limits: Callable[[], MessagingConfig], directory: AnimaDirectory, windows: WindowStore
    ) -> None:
        """``limits`` is read on every request, so a config.json change applies to the next one."""
        self._limits = limits
        self._directory = directory
        self._windows = windows

    async def __call__(self, request: OutboundRequested) -> Refusal | None:
        if not storm.guarded(request):
            return None
        limits = self._limits()
        role = await self._role(request.anima)
        where = storm.keys(request)
        names = [where.sender, where.pair, where.conversation]
        if where.cycle is not None:
            names.append(where.cycle)
        for _ in range(ATTEMPTS):
            read = {key: await self._windows.read(key) for key in names}
            verdict = storm.judge(request, {key: value[0] for key, value in read.items()}, limits, role)
            if verdict.refusal is not None:
                return verdict.refusal
            try:
                await self._store(verdict.updates, {key: value[1] for key, value in read.items()})
            except WindowConflict as conflict:
                _log.info("guard window changed; judging again", extra={"key": str(conflict)})
                continue
            return None
        raise RetryableError(f"the guard windows of request {request.id} kept changing")

    async def _store(self, updates: Mapping[str, storm.Window], revisions: Mapping[str, int | None]) -> None:
        for key, window in updates.items():
            await self._windows.write(key, window, revisions.get(key))

    async def _role(self, anima: str) -> str | None:
        found = next((a for a in await self._directory.animas() if a.name == anima), None)
        return found.role if found is not None else None
