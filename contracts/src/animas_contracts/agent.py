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


class RecordedToolCall(msgspec.Struct, frozen=True, kw_only=True):
    """A tool call the model asked for, as the cycle understood it."""

    id: str
    name: str
    arguments: dict[str, Any]
    arguments_error: str | None = None


class RecordedTurn(msgspec.Struct, frozen=True, kw_only=True):
    """What one model call returned, independent of the provider's wire format."""

    text: Annotated[str, Meta(description="The text the model wrote.")]
    tool_calls: Annotated[list[RecordedToolCall], Meta(description="The tools it asked for.")] = (
        msgspec.field(default_factory=list)
    )
    model: Annotated[str, Meta(description="The model that answered, as the provider named it.")] = ""
    stop_reason: Annotated[str, Meta(description="Why it stopped (provider's words).")] = ""


class CycleStarted(Event, frozen=True, kw_only=True, tag="cycle.started"):
    """A cycle began. Its id is the cycle id, derived from the triggering event."""

    trigger: Annotated[Trigger, Meta(description="What woke the anima.")]
    trigger_event_id: Annotated[str, Meta(description="Id of the event that triggered the cycle.")]
    model: Annotated[str | None, Meta(description="The model the cycle will call; null if none.")]
    mode: Annotated[str, Meta(description="Execution mode used for the cycle.")] = "litellm"
    inputs: Annotated[
        Body | None,
        Meta(
            description="Everything the prompt and the model requests are built from (the plan, "
            "the files read, what priming returned, the clock), so `anima replay cycle` can "
            "rebuild them offline; null when the cycle had no model to call."
        ),
    ] = None
    prompt: Annotated[
        Body | None, Meta(description="The system prompt the inputs produced; null without a model.")
    ] = None


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
    attempt: Annotated[
        int, Meta(description="Which delivery of the triggering event made the call, from 1.")
    ] = 1
    turn: Annotated[
        RecordedTurn | None,
        Meta(description="The response in a provider-neutral shape, for replay; null if the call failed."),
    ] = None
    purpose: Annotated[
        str,
        Meta(
            description="Why the cycle called: 'turn' (the execution mode thinking) or "
            "'conversation_summary' (compressing older conversation turns)."
        ),
    ] = "turn"


class CycleFinished(Event, frozen=True, kw_only=True, tag="cycle.finished"):
    """A cycle ended."""

    cycle_id: Annotated[str, Meta(description="The cycle that ended.")]
    status: Annotated[CycleStatus, Meta(description="How it ended.")]
    duration_ms: Annotated[float, Meta(description="Wall time of the cycle in milliseconds.")] = 0.0
    error: Annotated[str | None, Meta(description="Why it failed, if it did.")] = None


class CycleRecovered(Event, frozen=True, kw_only=True, tag="cycle.recovered"):
    """A cycle found the journal of an earlier attempt that died mid-stream, and kept what it said.

    The delta events are the write-ahead journal (DESIGN §9): a restarted agent-runner reads the
    interrupted attempt's pieces back, records them here, and runs the cycle again.
    """

    cycle_id: Annotated[str, Meta(description="The cycle that was interrupted.")]
    attempt: Annotated[int, Meta(description="The attempt that died, from 1.")]
    partial_text: Annotated[str, Meta(description="The text streamed before it died.")]
    tools_started: Annotated[
        list[str], Meta(description="Tools the attempt started, in order (those it finished too).")
    ] = msgspec.field(default_factory=list)
    stream_finished: Annotated[
        bool, Meta(description="True when the model's output was complete but no reply was stored.")
    ] = False


class CycleChained(Event, frozen=True, kw_only=True, tag="cycle.chained"):
    """The cycle's model session crossed ``context_threshold`` and continues in a new one.

    Its state was saved first, and the new session starts from it (seed 003 §4.9).
    """

    cycle_id: Annotated[str, Meta(description="The cycle that continues.")]
    chain: Annotated[int, Meta(description="Which continuation this is, from 1.")]
    prompt_tokens: Annotated[int, Meta(description="Tokens the session had reached.")]
    threshold_tokens: Annotated[int, Meta(description="The threshold it crossed.")]
    state_path: Annotated[str, Meta(description="Where the saved state was written in the anima's memory.")]
    state: Annotated[str, Meta(description="The saved state, as the new session reads it.")]
