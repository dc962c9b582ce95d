"""The activity-log projection: each event becomes at most one entry of seed 003 §4.10.

Entry fields are the seed's (``ts``, ``type``, ``content``, ``summary``, ``from``/``to``,
``channel``, ``tool``, ``via``, ``meta``); ``meta.event_id`` makes appends idempotent. An entry is a
pure function of its event, so a rebuild from the stream reproduces every file byte for byte.
Whole LLM bodies are never copied: an ``llm_call`` entry carries their digests.

Entry types beyond the seed's list: ``cycle_start``/``cycle_end`` for cycles that are not
heartbeats (the seed only names ``heartbeat_start``/``heartbeat_end``) and ``llm_call``. The
entries of dealings with others (messages sent, boards, tasks, notifications) and of the anima's
own clock are in :mod:`animas_memory_writer.organization_entries`, registered on import below.
"""

from __future__ import annotations

import functools
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from animas_contracts import (
    ConversationCompacted,
    CycleFinished,
    CycleStarted,
    CycleStatus,
    Event,
    LlmCalled,
    MemoryOpApplied,
    MemoryOpRejected,
    MessageReceived,
    ResponseSent,
    Trigger,
)

SUMMARY_CHARS = 200


def summary_of(text: str) -> str:
    """One line of at most SUMMARY_CHARS characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= SUMMARY_CHARS else flat[: SUMMARY_CHARS - 1] + "…"


def entry_base(event: Event, entry_type: str, **fields: Any) -> dict[str, Any]:
    """An entry's common fields; ``meta`` always carries the event's id, type and correlation."""
    meta = {"event_id": event.id, "event_type": event.event_type, "correlation_id": event.correlation_id}
    meta.update(fields.pop("meta", {}))
    entry: dict[str, Any] = {"ts": event.ts.isoformat(), "type": entry_type}
    entry.update({k: v for k, v in fields.items() if v is not None})
    entry["meta"] = meta
    return entry


@functools.singledispatch
def entry_for(event: Event) -> dict[str, Any] | None:
    """The activity-log entry for an event, or None when the event has no place in the log."""
    return None


@entry_for.register
def _(event: MessageReceived) -> dict[str, Any]:
    return entry_base(
        event,
        "message_received" if event.origin != "anima" else "dm_received",
        content=event.text,
        summary=summary_of(event.text),
        **{"from": event.sender},
        via=event.origin.value,
        meta={"thread_id": event.thread_id},
    )


@entry_for.register
def _(event: ResponseSent) -> dict[str, Any]:
    return entry_base(
        event,
        "response_sent",
        content=event.text,
        summary=summary_of(event.text),
        to=event.to,
        # An answer delivered to another anima: priming tells shared work from a person's chat.
        via="anima" if event.deliver else None,
        meta={
            "in_reply_to": event.in_reply_to,
            "thread_id": event.thread_id,
            "outcome": event.outcome.value,
            "model": event.model,
        },
    )


@entry_for.register
def _(event: CycleStarted) -> dict[str, Any]:
    entry_type = "heartbeat_start" if event.trigger == Trigger.HEARTBEAT else "cycle_start"
    return entry_base(
        event,
        entry_type,
        summary=f"{event.trigger.value} cycle started",
        meta={"cycle_id": event.id, "trigger": event.trigger.value, "model": event.model},
    )


@entry_for.register
def _(event: CycleFinished) -> dict[str, Any]:
    entry_type = "error" if event.status == CycleStatus.FAILED else "cycle_end"
    return entry_base(
        event,
        entry_type,
        summary=f"cycle {event.status.value}" + (f": {event.error}" if event.error else ""),
        meta={
            "cycle_id": event.cycle_id,
            "status": event.status.value,
            "duration_ms": round(event.duration_ms, 1),
        },
    )


@entry_for.register
def _(event: LlmCalled) -> dict[str, Any]:
    return entry_base(
        event,
        "llm_call",
        summary=f"{event.model}: {event.usage.total_tokens} tokens in {event.latency_ms:.0f} ms"
        + (f" (failed: {event.error})" if event.error else ""),
        meta={
            "cycle_id": event.cycle_id,
            "model": event.model,
            "request": event.request.digest,
            "response": event.response.digest if event.response else None,
            "usage": {
                "prompt_tokens": event.usage.prompt_tokens,
                "completion_tokens": event.usage.completion_tokens,
            },
            "latency_ms": round(event.latency_ms, 1),
        },
    )


@entry_for.register
def _(event: MemoryOpApplied) -> dict[str, Any] | None:
    if event.kind.startswith("board."):
        return None  # the board's own entry (board_created, board_joined…) already says it
    return entry_base(
        event,
        "memory_write",
        summary=f"{event.kind}: {', '.join(event.paths)}" if event.paths else event.kind,
        meta={"op_id": event.op_id, "kind": event.kind, "paths": list(event.paths)},
    )


@entry_for.register
def _(event: MemoryOpRejected) -> dict[str, Any]:
    return entry_base(
        event,
        "error",
        summary=f"{event.kind} rejected: {event.reason}",
        meta={"op_id": event.op_id, "kind": event.kind, "reason": event.reason},
    )


@entry_for.register
def _(event: ConversationCompacted) -> dict[str, Any]:
    # Conversation memory was rewritten: a quiet memory_write, as priming treats it. The summary
    # itself is not copied; it is in the event and in the conversation file.
    return entry_base(
        event,
        "memory_write",
        summary=f"conversation with {event.peer}: {event.turns_folded} turns summarised"
        + (f" ({event.summarizer.value}: {event.error})" if event.error else f" ({event.summarizer.value})"),
        meta={
            "peer": event.peer,
            "through_turn_id": event.through_turn_id,
            "turns_folded": event.turns_folded,
            "summarizer": event.summarizer.value,
            "error": event.error,
        },
    )


def day_of(event: Event, timezone: str) -> date:
    """The day (in the anima's time zone) whose file holds the event."""
    return event.ts.astimezone(ZoneInfo(timezone)).date()


# Registers the organization's entry types on entry_for (a module of its own, not a hub here).
from animas_memory_writer import organization_entries  # noqa: E402, F401
