"""Which animas exist, as memory-writer knows them (the gateway has no anima files on its disk)."""

from __future__ import annotations

import time

import msgspec
from nats.aio.client import Client

from animas_contracts import AnimaListReply, AnimaSummary
from animas_contracts.subjects import RPC_MEMORY_ANIMAS
from animas_core.broker_errors import BROKER_UNREACHABLE
from animas_core.rpc_tracing import traced_request


class DirectoryUnavailable(RuntimeError):
    """memory-writer did not answer."""


class AnimaDirectory:
    """The list of animas, asked of memory-writer and kept for a moment to spare round trips."""

    def __init__(self, nc: Client, *, ttl_s: float = 1.0, timeout_s: float = 3.0) -> None:
        self._nc = nc
        self._ttl_s = ttl_s
        self._timeout_s = timeout_s
        self._cached: tuple[float, dict[str, AnimaSummary]] | None = None

    async def animas(self, *, fresh: bool = False) -> dict[str, AnimaSummary]:
        """Animas by name; ``fresh`` asks memory-writer even if the list was just asked for."""
        now = time.monotonic()
        if not fresh and self._cached is not None and now - self._cached[0] < self._ttl_s:
            return self._cached[1]
        try:
            msg = await traced_request(self._nc, RPC_MEMORY_ANIMAS, b"{}", timeout_s=self._timeout_s)
        except BROKER_UNREACHABLE as exc:
            raise DirectoryUnavailable(f"memory-writer did not answer: {exc!r}") from exc
        reply = msgspec.json.decode(msg.data, type=AnimaListReply)
        found = {a.name: a for a in reply.animas}
        self._cached = (now, found)
        return found

    async def including(self, *names: str) -> dict[str, AnimaSummary]:
        """Animas by name, asked afresh when one of ``names`` is missing from the kept list.

        An anima created a moment ago (through this gateway, or another replica) is then found,
        while a name that does not exist costs one round trip more.
        """
        animas = await self.animas()
        if all(name in animas for name in names):
            return animas
        return await self.animas(fresh=True)
