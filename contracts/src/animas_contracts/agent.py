"""The agent cycle: its start and end, and every model call inside it."""

from __future__ import annotations

import enum
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from animas_contracts.envelope import Event


class Trigger(enum.StrEnum):
    """What woke the anima for a cycle."""

    MESSAGE = "message"
    HEARTBEAT = "heartbeat"
    CRON = "cron"


class CycleStatus(enum.StrEnum):
    """How a cycle ended."""

    OK = "ok"
    CONFIGURATION_NEEDED = "configuration_needed"
    FAILED = "failed"


class Body(msgspec.Struct, frozen=True, kw_only=True):
    """A request or response body: inline when small, else a reference into the object store.

    Large bodies go to the ``BODIES`` object store bucket under their digest, so no event
    approaches the server's max payload (DESIGN §4).
    """

    size: Annotated[int, Meta(description="Size of the JSON encoding in bytes.")]
    digest: Annotated[str, Meta(description="sha256 of the JSON encoding, as 'sha256:<hex>'.")]
    inline: Annotated[
        Any | None, Meta(description="The body itself when it is small; null when stored by reference.")
    ] = None
    stored: Annotated[
        bool, Meta(description="True when the body lives in the object store under its digest.")
    ] = False


class TokenUsage(msgspec.Struct, frozen=True, kw_only=True):
    """Token counts reported by the provider."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class CycleStarted(Event, frozen=True, kw_only=True, tag="cycle.started"):
    """A cycle began. Its id is the cycle id, derived from the triggering event."""

    trigger: Annotated[Trigger, Meta(description="What woke the anima.")]
    trigger_event_id: Annotated[str, Meta(description="Id of the event that triggered the cycle.")]
    model: Annotated[str | None, Meta(description="The model the cycle will call; null if none.")]
    mode: Annotated[str, Meta(description="Execution mode used for the cycle.")] = "litellm"


class LlmCalled(Event, frozen=True, kw_only=True, tag="llm.called"):
    """One model call: what was sent, what came back, tokens and latency."""

    cycle_id: Annotated[str, Meta(description="The cycle that made the call.")]
    ordinal: Annotated[int, Meta(description="Position of the call within its cycle, from 0.")]
    model: Annotated[str, Meta(description="The model name as passed to the client.")]
    request: Annotated[Body, Meta(description="The request body (messages and parameters).")]
    response: Annotated[Body | None, Meta(description="The response body; null if the call failed.")]
    usage: Annotated[TokenUsage, Meta(description="Token counts.")] = TokenUsage()
    latency_ms: Annotated[float, Meta(description="Wall time of the call in milliseconds.")] = 0.0
    error: Annotated[str | None, Meta(description="Why the call failed, if it did.")] = None


class CycleFinished(Event, frozen=True, kw_only=True, tag="cycle.finished"):
    """A cycle ended."""

    cycle_id: Annotated[str, Meta(description="The cycle that ended.")]
    status: Annotated[CycleStatus, Meta(description="How it ended.")]
    duration_ms: Annotated[float, Meta(description="Wall time of the cycle in milliseconds.")] = 0.0
    error: Annotated[str | None, Meta(description="Why it failed, if it did.")] = None
