"""Storm guards (seed 003 §7), pure: how much animas have just said, and whether one more may go.

Four guards over messages between animas, all timed by the events' own ``ts`` (never a wall
clock), so a replay or a redelivery is judged as it was first:

- **one per cycle**: one message per recipient per cycle (the send_message tool says so too; a
  forged or duplicated request is refused here as well);
- **rate**: the messages one anima sent within its role's window (``messaging.rates``);
- **bilateral**: the messages between one pair of animas, both ways, within the exchange window
  (``messaging.max_exchanges`` in ``exchange_window_s``, 6 in 10 minutes by default);
- **cascade**: the messages between animas in one *conversation* (everything one person's
  message, heartbeat or cron task set off, however many animas it fanned out to) within
  ``messaging.cascade.window_s``.

A window is the list of the messages it counts, each by request id and time, so counting a
request again (a redelivery) changes nothing. Acknowledgements pass every guard and are not
counted; answers (``reply``), tasks and reports count like messages. Channel posts are not
messages between animas and are not counted.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from animas_contracts import GuardRule, MessageKind, OutboundKind, OutboundRequested
from animas_core.messaging_config import MessagingConfig
from animas_outbound.domain import Refusal


@dataclasses.dataclass(frozen=True)
class Sent:
    """One counted message: its request id and when it was sent (the event's ``ts``)."""

    request_id: str
    at: datetime


Window = tuple[Sent, ...]


@dataclasses.dataclass(frozen=True)
class Keys:
    """Where a request's windows are kept (KV keys of the ``GUARDS`` bucket)."""

    sender: str
    pair: str
    conversation: str
    cycle: str | None


@dataclasses.dataclass(frozen=True)
class Verdict:
    """A guard's refusal, or the windows to store with the request counted in them."""

    refusal: Refusal | None
    updates: Mapping[str, Window] = dataclasses.field(default_factory=dict)


def guarded(request: OutboundRequested) -> bool:
    """Whether the storm guards judge ``request``: a message to an anima that is not an ack."""
    return request.kind is OutboundKind.MESSAGE and request.intent is not MessageKind.ACK


_SAFE = re.compile(r"^[A-Za-z0-9_-]+$")


def _token(value: str) -> str:
    # Anima names are valid key tokens already; ids are hex-encoded if they hold anything else.
    return value if _SAFE.fullmatch(value) else "x" + value.encode().hex()


def keys(request: OutboundRequested) -> Keys:
    """The keys of the windows ``request`` is judged by."""
    first, second = sorted((request.anima, request.to))
    return Keys(
        sender=f"rate.{_token(request.anima)}",
        pair=f"pair.{_token(first)}.{_token(second)}",
        conversation=f"conversation.{_token(request.correlation_id)}",
        cycle=(
            f"cycle.{_token(request.cycle_id)}.{_token(request.to)}" if request.cycle_id is not None else None
        ),
    )


def recent(window: Window, now: datetime, span_s: float) -> Window:
    """The messages of ``window`` sent within ``span_s`` seconds before ``now``."""
    since = now - timedelta(seconds=span_s)
    return tuple(sent for sent in window if sent.at > since)


def counted(window: Window, request_id: str) -> bool:
    """Whether the request is counted in ``window`` already (it was let through before)."""
    return any(sent.request_id == request_id for sent in window)


def judge(
    request: OutboundRequested,
    windows: Mapping[str, Window],
    limits: MessagingConfig,
    role: str | None,
) -> Verdict:
    """Refuse ``request``, or return its windows with it counted (only for :func:`guarded` ones).

    ``windows`` holds the stored windows by key (a missing key is empty). A request already
    counted in its sender's window was let through before and passes again, counted once.
    """
    at = request.ts
    where = keys(request)
    rate = limits.rate_for(role)
    spans = {
        where.sender: rate.window_s,
        where.pair: limits.exchange_window_s,
        where.conversation: limits.cascade.window_s,
    }
    # The request's own entries (left by an attempt cut short) never count against it.
    current = {
        key: tuple(s for s in recent(windows.get(key, ()), at, span) if s.request_id != request.id)
        for key, span in spans.items()
    }
    if not counted(windows.get(where.sender, ()), request.id):
        refusal = (
            _one_per_cycle(request, windows, where)
            or _bilateral(request, current[where.pair], limits)
            or _rate(request, current[where.sender], rate.messages, rate.window_s, role)
            or _cascade(request, current[where.conversation], limits)
        )
        if refusal is not None:
            return Verdict(refusal)
    sent = Sent(request.id, at)
    # The sender's window last: a request counted there was counted everywhere.
    updates: dict[str, Window] = {}
    if where.cycle is not None:
        updates[where.cycle] = _with(windows.get(where.cycle, ()), sent)
    for key in (where.pair, where.conversation, where.sender):
        updates[key] = (*current[key], sent)
    return Verdict(None, updates)


def _with(window: Window, sent: Sent) -> Window:
    return window if counted(window, sent.request_id) else (*window, sent)


def _one_per_cycle(request: OutboundRequested, windows: Mapping[str, Window], where: Keys) -> Refusal | None:
    if where.cycle is None or not [s for s in windows.get(where.cycle, ()) if s.request_id != request.id]:
        return None
    return Refusal(
        GuardRule.ONE_PER_CYCLE,
        f"{request.anima} already sent {request.to} a message in this cycle; one message per "
        "recipient per cycle. Put everything for them in that one message (an ack may still go).",
    )


def _bilateral(request: OutboundRequested, window: Window, limits: MessagingConfig) -> Refusal | None:
    if len(window) < limits.max_exchanges:
        return None
    span = _duration(limits.exchange_window_s)
    return Refusal(
        GuardRule.BILATERAL,
        f"{request.anima} and {request.to} exchanged {len(window)} messages in the last {span}; "
        f"two animas may exchange {limits.max_exchanges} per {span}. "
        f"The next can go {_frees(window, limits.max_exchanges, limits.exchange_window_s, request.ts)}. "
        "Settle the rest in one message later, or ask a person.",
    )


def _rate(
    request: OutboundRequested, window: Window, messages: int, window_s: float, role: str | None
) -> Refusal | None:
    if len(window) < messages:
        return None
    span = _duration(window_s)
    who = f"its role ({role})" if role else "an anima without a role"
    return Refusal(
        GuardRule.RATE,
        f"{request.anima} sent {len(window)} messages in the last {span}; {who} may send "
        f"{messages} per {span}. The next can go {_frees(window, messages, window_s, request.ts)}. "
        "Wait, or say several things in one message.",
    )


def _cascade(request: OutboundRequested, window: Window, limits: MessagingConfig) -> Refusal | None:
    cascade = limits.cascade
    if len(window) < cascade.messages:
        return None
    span = _duration(cascade.window_s)
    return Refusal(
        GuardRule.CASCADE,
        f"this conversation has set off {len(window)} messages between animas in the last {span} "
        f"(the limit across the organisation is {cascade.messages} per {span}); nothing more is "
        f"sent in it until {_frees(window, cascade.messages, cascade.window_s, request.ts)}. "
        "Finish with what you have, or tell a person.",
    )


def _frees(window: Window, limit: int, span_s: float, now: datetime) -> str:
    """When the window has room again: its oldest message that must leave leaves."""
    ordered = sorted(sent.at for sent in window)
    leaves = ordered[len(ordered) - limit] + timedelta(seconds=span_s)
    wait = max(0, round((leaves - now).total_seconds()))
    return f"at {leaves.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC (in {_duration(wait)})"


def _duration(seconds: float) -> str:
    whole = round(seconds)
    if whole % 3600 == 0 and whole >= 3600:
        hours = whole // 3600
        return f"{hours} hour{'s' if hours != 1 else ''}"
    if whole % 60 == 0 and whole >= 60:
        minutes = whole // 60
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{whole} second{'s' if whole != 1 else ''}"


def encode(window: Window) -> list[list[str]]:
    """A window as stored: ``[[request_id, iso_time], ...]``."""
    return [[sent.request_id, sent.at.isoformat()] for sent in window]


def decode(value: Sequence[Sequence[str]]) -> Window:
    """A stored window (see :func:`encode`)."""
    return tuple(Sent(str(item[0]), datetime.fromisoformat(str(item[1]))) for item in value)
