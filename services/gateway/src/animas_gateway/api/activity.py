"""The timeline's pure side: which stored events a query wants, each as an item, and what it means.

An item is ``{seq, time, anima, type, correlation_id, id, summary, event}``: ``seq`` is the
ACTIVITY stream sequence (the cursor of every read and of the live feed), ``event`` the stored
JSON as it is. Items are made from the stored JSON (not the decoded event), so an event type this
build does not know still shows, with a generic summary.

The live state an event puts its anima in (:func:`state_after`):

- ``thinking``: a cycle started (or was recovered, or continued in a new session), or a model
  call came back without asking for tools;
- ``in_tool``: a model call asked for tools, or a tool finished (the anima is in its tool phase
  until the next model call);
- ``resting``: its consolidation (the nightly "sleep" that turns the day into knowledge) started;
- ``idle``: a cycle or a consolidation finished, the anima was created, or enabled;
- ``disabled``: a person disabled it (``anima.status.changed`` with ``enabled: false``).

Every other event leaves the state as it was (``None``).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any, Literal

import msgspec

from animas_contracts.subjects import split_stored_activity_subject, stored_activity_filter

AnimaState = Literal["idle", "thinking", "in_tool", "resting", "disabled"]

STATE_TYPES = (
    "cycle.started",
    "cycle.recovered",
    "cycle.chained",
    "cycle.finished",
    "llm.called",
    "tool.used",
    "consolidation.started",
    "consolidation.finished",
    "anima.created",
    "anima.status.changed",
)
"""The event types that change an anima's state: what the org chart looks at."""


class EventItem(msgspec.Struct, frozen=True, kw_only=True):
    """One stored activity event, as the timeline, the live feed and cycles show it."""

    seq: int
    """Its ACTIVITY stream sequence: the cursor of reads and the live feed's event id."""
    time: str
    anima: str
    type: str
    correlation_id: str | None
    id: str | None
    summary: str
    """One line for a person."""
    event: dict[str, Any]
    """The event's stored JSON."""
    anima_state: AnimaState | None = None
    """Live feed only: the state the event leaves its anima in; null when it changes nothing."""


class EventPage(msgspec.Struct, frozen=True, kw_only=True):
    """A page of the timeline."""

    items: list[EventItem]
    next_cursor: str | None
    """Pass as ``cursor`` for the next page; null when there is nothing more now."""


class BadQuery(ValueError):
    """A query parameter that cannot be understood."""


@dataclasses.dataclass(frozen=True)
class Filters:
    """What a timeline or a feed asks for. ``event_type`` ending in ``.`` (or ``.*``, ``.>``) is a prefix."""

    anima: str | None = None
    event_type: str | None = None
    correlation_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    @property
    def type_prefix(self) -> str | None:
        """``cycle.`` for ``cycle.``, ``cycle.*`` and ``cycle.>``; None for an exact type."""
        if self.event_type is None:
            return None
        for tail in (".>", ".*", "."):
            if self.event_type.endswith(tail):
                return self.event_type[: -len(tail)] + "."
        return None

    def stored_subject(self) -> str:
        """The narrowest stored-subject filter covering these filters (the server applies it)."""
        prefix = self.type_prefix
        if self.event_type is None:
            event_type = ">"
        elif prefix is not None:
            event_type = prefix + ">"
        else:
            event_type = self.event_type
        return stored_activity_filter(anima=self.anima or "*", event_type=event_type)

    def matches(self, item: dict[str, Any]) -> bool:
        """Whether an item passes every filter (the time bounds are on the item's stored time)."""
        if self.anima is not None and item["anima"] != self.anima:
            return False
        if self.event_type is not None:
            prefix = self.type_prefix
            kind = str(item["type"])
            if prefix is None and kind != self.event_type:
                return False
            if prefix is not None and not kind.startswith(prefix):
                return False
        if self.correlation_id is not None and item["correlation_id"] != self.correlation_id:
            return False
        stored: datetime = item["_stored"]
        if self.since is not None and stored < self.since:
            return False
        return not (self.until is not None and stored > self.until)


def parse_filters(query: dict[str, str]) -> Filters:
    """Filters from query parameters ``anima``, ``type``, ``correlation_id``, ``since``, ``until``."""
    anima = query.get("anima") or None
    if anima is not None:
        try:
            stored_activity_filter(anima=anima)
        except ValueError as exc:
            raise BadQuery(f"anima: {exc}") from None
    event_type = query.get("type") or None
    if event_type is not None and not all(
        t and t not in ("*", ">") for t in event_type.rstrip(".*>").split(".")
    ):
        raise BadQuery(f"type: {event_type!r} is not an event type or a prefix like 'cycle.'")
    return Filters(
        anima=anima,
        event_type=event_type,
        correlation_id=query.get("correlation_id") or None,
        since=_time(query, "since"),
        until=_time(query, "until"),
    )


def _time(query: dict[str, str], name: str) -> datetime | None:
    raw = query.get(name)
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise BadQuery(f"{name}: {raw!r} is not an ISO 8601 time") from None
    if value.tzinfo is None:
        raise BadQuery(f"{name}: {raw!r} has no time zone (add Z or +00:00)")
    return value


def make_item(seq: int, subject: str, stored: datetime, event: dict[str, Any]) -> dict[str, Any]:
    """The item of one stored event (``_stored``, the stored time, is dropped by :func:`public`)."""
    _, anima, event_type = split_stored_activity_subject(subject)
    return {
        "seq": seq,
        "time": str(event.get("ts") or stored.isoformat()),
        "anima": anima,
        "type": event_type,
        "correlation_id": event.get("correlation_id"),
        "id": event.get("id"),
        "summary": summary(event_type, event),
        "event": event,
        "_stored": stored,
    }


def public(item: dict[str, Any], *, with_state: bool = False) -> dict[str, Any]:
    """The item as the API answers it; ``with_state`` adds ``anima_state`` (the live feed)."""
    out = {k: v for k, v in item.items() if not k.startswith("_")}
    if with_state:
        out["anima_state"] = state_after(str(item["type"]), item["event"])
    return out


def state_after(event_type: str, event: dict[str, Any]) -> AnimaState | None:
    """The state an event leaves its anima in; None when it does not change it."""
    if event_type in ("cycle.started", "cycle.recovered", "cycle.chained"):
        return "thinking"
    if event_type == "llm.called":
        turn = event.get("turn") or {}
        return "in_tool" if turn.get("tool_calls") else "thinking"
    if event_type == "tool.used":
        return "in_tool"
    if event_type == "consolidation.started":
        return "resting"
    if event_type in ("cycle.finished", "consolidation.finished", "anima.created"):
        return "idle"
    if event_type == "anima.status.changed":
        enabled = (event.get("changes") or {}).get("enabled")
        if enabled is False:
            return "disabled"
        if enabled is True:
            return "idle"
    return None


def _clip(text: object, limit: int = 80) -> str:
    flat = " ".join(str(text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def summary(event_type: str, e: dict[str, Any]) -> str:
    """One line a person reads in the timeline."""
    anima = e.get("anima", "?")
    match event_type:
        case "message.received":
            return f"{e.get('sender', '?')} → {anima}: {_clip(e.get('text'))}"
        case "response.sent":
            return f"{anima} → {e.get('to') or '?'}: {_clip(e.get('text'))}"
        case "cycle.started":
            return f"{anima} started a cycle ({e.get('trigger', '?')}, model {e.get('model') or 'none'})"
        case "cycle.finished":
            tail = f": {_clip(e.get('error'))}" if e.get("error") else ""
            return f"{anima} finished a cycle: {e.get('status', '?')} in {_ms(e.get('duration_ms'))}{tail}"
        case "cycle.recovered":
            return f"{anima} recovered attempt {e.get('attempt', '?')} of an interrupted cycle"
        case "cycle.chained":
            return f"{anima} continued its session past the context threshold (chain {e.get('chain', '?')})"
        case "llm.called":
            usage = e.get("usage") or {}
            if e.get("error"):
                return f"{anima} called {e.get('model', '?')}: failed: {_clip(e.get('error'))}"
            tools = [c.get("name", "?") for c in (e.get("turn") or {}).get("tool_calls") or []]
            asked = f", asked for {', '.join(tools)}" if tools else ""
            return (
                f"{anima} called {e.get('model', '?')} ({usage.get('total_tokens', 0)} tokens, "
                f"{_ms(e.get('latency_ms'))}){asked}"
            )
        case "tool.used":
            return f"{anima} used {e.get('tool', '?')}: {e.get('status', '?')}"
        case "anima.status.changed":
            changes = ", ".join(f"{k}={v}" for k, v in sorted((e.get("changes") or {}).items()))
            return f"{anima}'s status changed: {changes}"
        case "outbound.requested" | "outbound.delivered":
            verb = "asked to send" if event_type == "outbound.requested" else "delivered"
            return (
                f"{anima} {verb} a {e.get('kind', 'message')} to {e.get('to', '?')}: {_clip(e.get('text'))}"
            )
        case "outbound.failed":
            return f"{anima}: sending to {e.get('to', '?')} failed: {_clip(e.get('reason'))}"
        case "task.delegated":
            return f"{anima} delegated to {e.get('assignee', '?')}: {_clip(e.get('instruction'))}"
        case "task.reported":
            return f"{anima} reported to {e.get('supervisor', '?')} ({e.get('outcome', '?')})"
        case "channel.posted":
            return f"{anima} posted on #{e.get('channel', '?')}: {_clip(e.get('text'))}"
        case "heartbeat.due" | "cron.due":
            what = "heartbeat" if event_type == "heartbeat.due" else f"cron task {e.get('task', '?')}"
            return f"{anima}'s {what} is due ({e.get('scheduled_by', 'scheduler')})"
        case "memory.op.requested":
            return f"{anima} asked for a memory change: {(e.get('op') or {}).get('type', '?')}"
        case "memory.op.applied":
            return (
                f"memory change applied for {anima}: {e.get('kind', '?')} {', '.join(e.get('paths') or [])}"
            )
        case "memory.op.rejected":
            return f"memory change rejected for {anima}: {_clip(e.get('reason'))}"
        case "consolidation.started" | "consolidation.finished":
            verb = (
                "started" if event_type == "consolidation.started" else f"finished ({e.get('status', '?')})"
            )
            return f"{anima}'s {e.get('kind', '')} consolidation {verb}".replace("  ", " ")
    return f"{anima}: {event_type}"


def _ms(value: object) -> str:
    try:
        ms = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "?"
    return f"{ms / 1000:.1f} s" if ms >= 1000 else f"{ms:.0f} ms"
