"""Reading anima files over ``rpc.memory.read.<anima>``."""

from __future__ import annotations

import msgspec
import nats.errors
from nats.aio.client import Client

from animas_contracts import MemoryReadReply, MemoryReadRequest
from animas_contracts.subjects import rpc_subject
from animas_core.errors import RetryableError


class RpcMemoryReader:
    """Asks memory-writer for a file; no answer is a :class:`RetryableError`."""

    def __init__(self, nc: Client, timeout_s: float = 5.0) -> None:
        self._nc = nc
        self._timeout_s = timeout_s

    async def read(self, anima: str, path: str) -> str | None:
        request = msgspec.json.encode(MemoryReadRequest(op="read", path=path))
        try:
            msg = await self._nc.request(
                rpc_subject("memory", "read", anima), request, timeout=self._timeout_s
            )
        except (nats.errors.TimeoutError, nats.errors.NoRespondersError) as exc:
            raise RetryableError(f"memory-writer did not answer a read of {anima}/{path}: {exc!r}") from exc
        reply = msgspec.json.decode(msg.data, type=MemoryReadReply)
        return reply.content if reply.ok else None
