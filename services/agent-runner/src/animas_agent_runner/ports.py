"""What the cycle needs from the outside world."""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

from animas_contracts import PrimeReply, PrimeRequest


@dataclasses.dataclass(frozen=True)
class ModelTarget:
    """Where one model call goes. ``api_key`` is never recorded in an event."""

    model: str
    api_base: str | None
    api_key: str | None
    max_tokens: int


@dataclasses.dataclass(frozen=True)
class Completion:
    """What a model call returned."""

    text: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    raw: dict[str, Any]


class ModelCallFailed(Exception):
    """A model call failed. ``transient`` says whether trying again later may succeed."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


class ChatModel(Protocol):
    """A chat-completions client."""

    async def complete(self, target: ModelTarget, messages: list[dict[str, Any]]) -> Completion:
        """Run one completion; raise :class:`ModelCallFailed` on failure."""
        ...


class BodyStore(Protocol):
    """Content-addressed storage for large request/response bodies."""

    async def put(self, digest: str, data: bytes) -> None:
        """Store ``data`` under ``digest`` (idempotent)."""
        ...


class MemoryReader(Protocol):
    """Reads an anima's files through memory-writer (agent-runner has none on its disk)."""

    async def read(self, anima: str, path: str) -> str | None:
        """The file's text, or None when it does not exist."""
        ...


class Priming(Protocol):
    """Automatic recall before the anima thinks."""

    async def prime(self, anima: str, request: PrimeRequest) -> PrimeReply:
        """The memories that surface for this trigger (errors per channel, never an exception)."""
        ...


class ReplyLedger(Protocol):
    """Answers whether a message was already answered (for redeliveries)."""

    async def reply_exists(self, anima: str, reply_id: str, after_seq: int) -> bool:
        """Whether an event with id ``reply_id`` was stored for ``anima`` after ``after_seq``."""
        ...
