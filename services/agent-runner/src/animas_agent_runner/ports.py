"""What the cycle needs from the outside world."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Protocol

from animas_contracts import (
    AnimaSummary,
    BoardCreated,
    BoardJoined,
    BoardLeft,
    BoardReply,
    BoardRequest,
    Event,
    HeartbeatFinished,
    MemoryOpRequested,
    MessageReceived,
    OutboundRequested,
    PrimeReply,
    PrimeRequest,
    SearchReply,
    SearchRequest,
    TaskRecord,
)


@dataclasses.dataclass(frozen=True)
class ModelTarget:
    """Where one model call goes. ``api_key`` is never recorded in an event."""

    model: str
    api_base: str | None
    api_key: str | None
    max_tokens: int


# --- one model turn, in a provider-neutral shape ---------------------------------------------


@dataclasses.dataclass(frozen=True)
class ToolSpec:
    """A tool offered to the model: its name, what it does, and a JSON Schema of its arguments."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class ToolCall:
    """The model asked to call a tool. ``id`` is the provider's id, echoed in the result."""

    id: str
    name: str
    arguments: dict[str, Any]
    arguments_error: str | None = None
    """Set when the model's arguments were not a JSON object; the call is answered with an error."""


@dataclasses.dataclass(frozen=True)
class UserTurn:
    """A user message in the conversation."""

    text: str


@dataclasses.dataclass(frozen=True)
class AssistantTurn:
    """What the model said before: its text and the tools it called."""

    text: str
    tool_calls: tuple[ToolCall, ...] = ()


@dataclasses.dataclass(frozen=True)
class ToolResult:
    """The answer to one tool call, sent back to the model."""

    call_id: str
    name: str
    content: str
    is_error: bool = False


ConversationItem = UserTurn | AssistantTurn | ToolResult


@dataclasses.dataclass(frozen=True)
class TurnRequest:
    """Everything one model call needs, independent of the provider's wire format."""

    system: str
    conversation: tuple[ConversationItem, ...]
    tools: tuple[ToolSpec, ...] = ()
    max_tokens: int = 4096


@dataclasses.dataclass(frozen=True)
class TurnResult:
    """What one model call returned."""

    text: str
    tool_calls: tuple[ToolCall, ...]
    model: str
    prompt_tokens: int
    completion_tokens: int
    stop_reason: str
    raw_request: dict[str, Any]
    """The request as sent on the wire, without credentials (recorded in ``llm.called``)."""
    raw_response: dict[str, Any]
    """The response (assembled from the stream when streaming)."""


TextSink = Callable[[str], Awaitable[None]]
"""Receives each piece of streamed text as it arrives."""


class TurnModel(Protocol):
    """One provider's client for one model turn, streaming text as it comes.

    Raises :class:`ModelCallFailed` on failure. ``on_text`` is awaited for every text piece in
    order; the returned :class:`TurnResult` holds the whole text again.
    """

    async def turn(self, target: ModelTarget, request: TurnRequest, on_text: TextSink) -> TurnResult:
        """Run one model call."""
        ...


class ToolRunner(Protocol):
    """The one tool surface every mode uses: what the model may call, and calling it."""

    def specs(self) -> tuple[ToolSpec, ...]:
        """The tools offered to the model this cycle (only those its permissions allow)."""
        ...

    async def run(self, call: ToolCall) -> ToolResult:
        """Run one call; a denied or failed call is an error result, never an exception."""
        ...


class TurnRecorder(Protocol):
    """Records the cycle as it happens: streamed text and every model call."""

    async def on_text(self, text: str) -> None:
        """A piece of model output arrived."""
        ...

    async def model_called(
        self,
        *,
        target: ModelTarget,
        request: TurnRequest,
        result: TurnResult | None,
        error: ModelCallFailed | None,
        latency_ms: float,
    ) -> None:
        """One model call ended (``result`` or ``error``)."""
        ...


class ModelCallFailed(Exception):
    """A model call failed. ``transient`` says whether trying again later may succeed."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


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


class MemoryStore(MemoryReader, Protocol):
    """Everything a cycle reads through memory-writer."""

    async def listing(self, anima: str, path: str) -> list[str]:
        """Entries of a folder (folders end in ``/``); empty when it does not exist."""
        ...

    async def tasks(self, anima: str) -> list[TaskRecord]:
        """The anima's task store, oldest first."""
        ...

    async def tree(self, anima: str) -> dict[str, str]:
        """The anima's memory files (knowledge, episodes, procedures, skills) and their digests."""
        ...

    async def animas(self) -> list[AnimaSummary]:
        """Every anima that exists."""
        ...

    async def shared(self, path: str) -> str | None:
        """A file of the organization's shared folder, e.g. ``company/vision.md``."""
        ...


class MemorySearch(Protocol):
    """Deliberate recall (the search_memory tool) through priming."""

    async def search(self, anima: str, request: SearchRequest) -> SearchReply:
        """Search one anima's memory; failures come back in ``SearchReply.error``."""
        ...


@dataclasses.dataclass(frozen=True)
class OpOutcome:
    """What memory-writer did with an operation; ``applied`` is None when it has not said yet."""

    applied: bool | None
    reason: str = ""
    paths: tuple[str, ...] = ()


class MemoryOps(Protocol):
    """Asks memory-writer to change the anima's memory and waits for its answer."""

    async def apply(self, request: MemoryOpRequested, timeout_s: float) -> OpOutcome:
        """Publish the request and wait up to ``timeout_s`` for applied or rejected."""
        ...


@dataclasses.dataclass(frozen=True)
class SendVerdict:
    """What outbound did with a request; ``delivered`` is None when it has not said yet."""

    delivered: bool | None
    reason: str = ""


class OutboundSender(Protocol):
    """Publishes an ``outbound.requested`` and waits for outbound's delivered or failed."""

    async def send(self, request: OutboundRequested, timeout_s: float) -> SendVerdict:
        """Publish the request and wait up to ``timeout_s`` for outbound's verdict."""
        ...


class ReportWaiter(Protocol):
    """Futures for reports on delegated tasks, keyed by ``<supervisor>:<supervisor task id>``.

    :class:`animas_core.waiter.EventWaiter` over every anima's ``message.received`` is the real
    one (see ``cycle/reports.py`` for the key).
    """

    def expect(self, key: str) -> asyncio.Future[Event]:
        """A future for the report carrying ``key``; register before the task is sent."""
        ...

    def forget(self, key: str) -> None:
        """Stop waiting."""
        ...


BoardChange = BoardCreated | BoardJoined | BoardLeft
"""A membership change memory-writer decides (it answers like a memory change)."""


class ChannelReader(Protocol):
    """Boards: reads of memory-writer's projection, and membership changes it decides."""

    async def board(self, request: BoardRequest) -> BoardReply:
        """A board's meta, members and one page of posts (``exists`` false when there is none)."""
        ...

    async def change(self, event: BoardChange, timeout_s: float) -> OpOutcome:
        """Publish a membership change and wait up to ``timeout_s`` for memory-writer's answer."""
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


@dataclasses.dataclass(frozen=True)
class JournalAttempt:
    """What one attempt of a cycle streamed before it stopped, read back from the journal."""

    attempt: int
    text: str
    tools_started: tuple[str, ...]
    finished: bool
    """The attempt's output ended with a ``done`` delta."""


class Journal(Protocol):
    """The write-ahead journal of streamed output (the ``DELTAS`` stream, DESIGN §9)."""

    async def attempts(self, anima: str, cycle_id: str, since: datetime) -> list[JournalAttempt]:
        """Every attempt of ``cycle_id`` journaled since ``since``, in attempt order."""
        ...


class ActivityReader(Protocol):
    """Reads an anima's stored activity back: what heartbeats and deferred messages need."""

    async def message(self, anima: str, message_id: str, since: datetime) -> MessageReceived | None:
        """The stored ``message.received`` with that id (stored at or after ``since``), if any."""
        ...

    async def heartbeats(self, anima: str, since: datetime) -> list[HeartbeatFinished]:
        """The anima's ``heartbeat.finished`` events stored since ``since``, oldest first."""
        ...
