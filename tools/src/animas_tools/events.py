"""Reading the activity stream for people: the timeline behind ``anima events``."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import datetime

from nats.js import JetStreamContext

from animas_contracts import (
    ConsolidationDue,
    ConsolidationFinished,
    ConsolidationPlanned,
    ConsolidationStarted,
    ContractError,
    ConversationCompacted,
    CronDue,
    CronExecuted,
    CycleChained,
    CycleRecovered,
    Event,
    ForgettingDownscaled,
    HeartbeatDue,
    HeartbeatFinished,
    LlmCalled,
    MemoryForgotten,
    MemoryOpRequested,
    OutboundRequested,
    ToolUsed,
)
from animas_contracts.identity import IdentityProposed
from animas_contracts.subjects import stored_activity_filter
from animas_core.provenance import decode_delivered
from animas_core.streams import read_stored
from animas_tools import consolidate_cli


@dataclasses.dataclass(frozen=True)
class StoredEvent:
    """An event with its place in the stream; ``error`` is set when it does not decode."""

    seq: int
    subject: str
    event: Event | None
    raw: bytes
    error: str | None = None


async def read_activity(
    js: JetStreamContext, *, anima: str = "*", event_type: str = ">", stored_since: datetime | None = None
) -> AsyncIterator[StoredEvent]:
    """Every stored activity event matching the filter, oldest first, up to the current end.

    ``stored_since`` starts at the first event the stream stored at or after that time.
    """
    subject = stored_activity_filter(anima=anima, event_type=event_type)
    async for msg in read_stored(js, subject, start_time=stored_since):
        seq = msg.metadata.sequence.stream
        try:
            yield StoredEvent(seq, msg.subject, decode_delivered(msg.subject, msg.data), msg.data)
        except ContractError as exc:
            yield StoredEvent(seq, msg.subject, None, msg.data, str(exc))


CONSOLIDATION_EVENTS = (ConsolidationDue, ConsolidationStarted, ConsolidationPlanned, ConsolidationFinished)


def summary(event: Event) -> str:
    """A short human line for an event."""
    if isinstance(event, ToolUsed):
        reason = f": {event.reason[:60]}" if event.reason else ""
        return f"{event.tool} {event.status.value}{reason}"
    if isinstance(event, MemoryOpRequested):
        path = getattr(event.op, "path", None) or getattr(event.op, "title", "")
        return f"{type(event.op).__struct_config__.tag} {path}".strip()
    if isinstance(event, CycleRecovered):
        said = event.partial_text
        return f"attempt {event.attempt} died after {len(said)} chars: {said[:50]!r}"
    if isinstance(event, CycleChained):
        return f"session {event.chain + 1} at {event.prompt_tokens} tokens; state in {event.state_path}"
    if isinstance(event, ConversationCompacted):
        return f"{event.turns_folded} turns with {event.peer} summarized ({event.summarizer.value})"
    if isinstance(event, HeartbeatDue | CronDue):
        what = f"task {event.task!r} " if isinstance(event, CronDue) else ""
        merged = f" ({event.coalesced} occurrences merged)" if event.coalesced > 1 else ""
        return f"{what}at {event.fire_at.isoformat(timespec='minutes')} by {event.scheduled_by.value}{merged}"
    if isinstance(event, HeartbeatFinished):
        return f"{event.outcome.value}" + (f": {', '.join(event.found)[:70]}" if event.found else "")
    if isinstance(event, CronExecuted):
        return f"{event.task!r} {event.outcome.value}" + (f": {event.error[:60]}" if event.error else "")
    if isinstance(event, CONSOLIDATION_EVENTS):
        return consolidate_cli.summary(event)
    if isinstance(event, ForgettingDownscaled):
        return (
            f"{len(event.marks)} marked low-activity on {event.date}: "
            + ", ".join(m.path for m in event.marks)[:70]
        )
    if isinstance(event, MemoryForgotten):
        return f"{event.path} archived: {event.reason}"
    if isinstance(event, IdentityProposed):
        return (
            f"{event.changed_lines} changed lines (limit {event.limit}), waits for approval: "
            f"anima identity {event.anima} --approve {event.id}"
        )
    if isinstance(event, LlmCalled):
        return f"{event.model} {event.purpose}{' error' if event.error else ''} {event.latency_ms:.0f} ms"
    if isinstance(event, OutboundRequested):
        return f"{event.kind.value} to {event.to}: {' '.join(event.text.split())[:60]}"
    text = getattr(event, "text", None)
    if isinstance(text, str):
        flat = " ".join(text.split())
        return flat[:80] + ("…" if len(flat) > 80 else "")
    for name in ("status", "trigger", "model"):
        value = getattr(event, name, None)
        if value is not None:
            return f"{name}={getattr(value, 'value', value)}"
    return ""


def timeline_line(stored: StoredEvent) -> str:
    """One row of the timeline."""
    if stored.event is None:
        return f"{stored.seq:>7}  {'?':<32}  {'(undecodable)':<20}  {stored.subject}  {stored.error}"
    e = stored.event
    return (
        f"{stored.seq:>7}  {e.ts.isoformat(timespec='milliseconds'):<32}  {e.anima:<12}  "
        f"{e.event_type:<20}  corr={e.correlation_id}  {summary(e)}"
    )
