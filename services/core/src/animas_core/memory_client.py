"""Reading anima directories through memory-writer (``rpc.memory.*``): how other services see them."""

from __future__ import annotations

import msgspec
from nats.aio.client import Client

from animas_contracts import (
    AnimaListReply,
    AnimaSummary,
    BoardReply,
    BoardRequest,
    MemoryReadReply,
    MemoryReadRequest,
    MetaRecord,
    TaskRecord,
)
from animas_contracts.subjects import RPC_MEMORY_ANIMAS, RPC_MEMORY_BOARD, RPC_MEMORY_SHARED, rpc_subject
from animas_core.broker_errors import BROKER_UNREACHABLE
from animas_core.errors import RetryableError
from animas_core.rpc_tracing import traced_request


class MemoryClient:
    """Asks memory-writer; no answer is a :class:`RetryableError` (it may be restarting)."""

    def __init__(self, nc: Client, timeout_s: float = 5.0) -> None:
        self._nc = nc
        self._timeout_s = timeout_s

    async def request(self, anima: str, request: MemoryReadRequest) -> MemoryReadReply:
        """One read request."""
        subject = rpc_subject("memory", "read", anima)
        try:
            payload = msgspec.json.encode(request)
            msg = await traced_request(self._nc, subject, payload, timeout_s=self._timeout_s)
        except BROKER_UNREACHABLE as exc:
            raise RetryableError(f"memory-writer did not answer {request.op} of {anima}: {exc!r}") from exc
        return msgspec.json.decode(msg.data, type=MemoryReadReply)

    async def read(self, anima: str, path: str) -> str | None:
        """A file's text, or None when it does not exist."""
        reply = await self.request(anima, MemoryReadRequest(op="read", path=path))
        return reply.content if reply.ok else None

    async def tree(self, anima: str) -> dict[str, str]:
        """The anima's memory files and their digests."""
        return (await self.request(anima, MemoryReadRequest(op="tree"))).files

    async def stats(self, anima: str) -> list[MetaRecord]:
        """Access counts, outcomes and importance of the anima's memory files."""
        return (await self.request(anima, MemoryReadRequest(op="stats"))).stats

    async def tasks(self, anima: str) -> list[TaskRecord]:
        """The anima's task store, oldest first."""
        return (await self.request(anima, MemoryReadRequest(op="tasks"))).tasks

    async def listing(self, anima: str, path: str) -> list[str]:
        """Entries of a folder (folders end in ``/``); empty when it does not exist."""
        reply = await self.request(anima, MemoryReadRequest(op="list", path=path))
        return reply.entries if reply.ok else []

    async def shared(self, path: str) -> str | None:
        """A file of the organization's shared folder (``company/vision.md``), or None."""
        try:
            msg = await traced_request(
                self._nc,
                RPC_MEMORY_SHARED,
                msgspec.json.encode(MemoryReadRequest(op="read", path=path)),
                timeout_s=self._timeout_s,
            )
        except BROKER_UNREACHABLE as exc:
            raise RetryableError(f"memory-writer did not answer a shared read: {exc!r}") from exc
        reply = msgspec.json.decode(msg.data, type=MemoryReadReply)
        return reply.content if reply.ok else None

    async def animas(self) -> list[AnimaSummary]:
        """Every anima that exists."""
        try:
            msg = await traced_request(self._nc, RPC_MEMORY_ANIMAS, b"{}", timeout_s=self._timeout_s)
        except BROKER_UNREACHABLE as exc:
            raise RetryableError(f"memory-writer did not answer: {exc!r}") from exc
        return msgspec.json.decode(msg.data, type=AnimaListReply).animas

    async def board(self, request: BoardRequest) -> BoardReply:
        """A board from memory-writer's projection: meta, members and one page of posts."""
        try:
            msg = await traced_request(
                self._nc, RPC_MEMORY_BOARD, msgspec.json.encode(request), timeout_s=self._timeout_s
            )
        except BROKER_UNREACHABLE as exc:
            raise RetryableError(f"memory-writer did not answer a board read: {exc!r}") from exc
        return msgspec.json.decode(msg.data, type=BoardReply)
