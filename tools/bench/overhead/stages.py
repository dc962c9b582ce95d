"""Where a chat's time goes, from the events it left on the activity stream.

Each event carries ``ts``, the wall clock of the process that built it; every process runs on this
machine, so one clock serves them all. A chat's *marks* are the client's send, the events' ``ts``
(``message.received``, ``cycle.started``, ``response.sent``), the model call's start and end
(``llm.called``'s ``ts`` less its ``latency_ms``, and its ``ts``) and the client's receipt of the
reply. Sorted by time, consecutive marks make the stages, so the breakdown follows whatever order
the services build their events in, and the stages of a chat add up to its latency. A boundary is
when an event was *built* (before its publish returned), right to about a millisecond.

Priming leaves no event of the chat's own (its ``memory.accessed`` has a correlation id of its own
and only comes when something was recalled), so the run times its request/reply apart, directly.
"""

from __future__ import annotations

import collections
import dataclasses
import itertools
import statistics
from collections.abc import Iterable, Sequence

from nats.aio.client import Client

from animas_contracts import (
    ContractError,
    CycleFinished,
    CycleStarted,
    Event,
    LlmCalled,
    MessageReceived,
    ResponseSent,
    decode_event,
)
from animas_contracts.subjects import stored_activity_filter
from animas_core.streams import read_stored

from .measure import ChatSample

SENT, REPLY = "client sends", "reply at the client"
LLM_START, LLM_END = "model call starts", "model call returns (llm.called)"

Timeline = dict[str, list[Event]]
"""The events of a stretch of the activity stream, by correlation id."""


@dataclasses.dataclass(frozen=True)
class Breakdown:
    """Milliseconds per stage (``"mark → next mark"``, in the order they happen)."""

    stages: dict[str, list[float]]
    totals: list[float]
    """Each broken-down chat's whole latency in ms, for the shares."""
    after_reply: list[float]
    """``response.sent`` → ``cycle.finished`` in ms: work after the reply (not in the latency)."""
    events_per_chat: float
    """Events stored with a chat's correlation id, on average (every one a JetStream publish)."""
    missing: int
    """Correct chats whose events were not all found (left out of the breakdown)."""

    def share(self, stage: str) -> float:
        """The stage's part of the mean latency, in percent (a stage missing in some chats counts 0)."""
        total = sum(self.totals)
        return 100.0 * sum(self.stages.get(stage, ())) / total if total else 0.0


async def read_events(nc: Client, start_seq: int) -> Timeline:
    """Every activity event stored from ``start_seq`` on."""
    found: dict[str, list[Event]] = collections.defaultdict(list)
    async for msg in read_stored(nc.jetstream(), stored_activity_filter(), start_seq=start_seq):
        try:
            event = decode_event(msg.data)
        except ContractError:
            continue
        found[event.correlation_id].append(event)
    return dict(found)


def _first(events: Iterable[Event], kind: type[Event]) -> Event | None:
    return next((e for e in events if isinstance(e, kind)), None)


def marks(sample: ChatSample, events: Sequence[Event]) -> dict[str, float] | None:
    """The chat's marks in epoch seconds; ``None`` when an event it needs is missing."""
    received, sent = _first(events, MessageReceived), _first(events, ResponseSent)
    calls = [e for e in events if isinstance(e, LlmCalled)]
    if received is None or sent is None or not calls:
        return None
    found = {
        SENT: sample.sent_at,
        "message.received": received.ts.timestamp(),
        LLM_START: min(c.ts.timestamp() - c.latency_ms / 1000 for c in calls),
        LLM_END: max(c.ts.timestamp() for c in calls),
        "response.sent": sent.ts.timestamp(),
        REPLY: sample.sent_at + sample.seconds,
    }
    started = _first(events, CycleStarted)
    if started is not None:
        found["cycle.started"] = started.ts.timestamp()
    return found


def breakdown(samples: Sequence[ChatSample], timeline: Timeline) -> Breakdown:
    """The stages of every correct chat in ``samples`` whose events are in ``timeline``."""
    stages: dict[str, list[float]] = collections.defaultdict(list)
    starts: dict[str, list[float]] = collections.defaultdict(list)
    totals: list[float] = []
    after: list[float] = []
    counts: list[int] = []
    missing = 0
    for sample in (s for s in samples if s.ok):
        mine = timeline.get(sample.correlation_id or "", [])
        found = marks(sample, mine)
        if found is None:
            missing += 1
            continue
        ordered = sorted(found.items(), key=lambda item: item[1])
        for (a, at), (b, bt) in itertools.pairwise(ordered):
            stages[f"{a} → {b}"].append((bt - at) * 1000)
            starts[f"{a} → {b}"].append((at - sample.sent_at) * 1000)
        totals.append(sample.seconds * 1000)
        counts.append(len(mine))
        finished = _first(mine, CycleFinished)
        if finished is not None:
            after.append((finished.ts.timestamp() - found["response.sent"]) * 1000)
    order = sorted(stages, key=lambda name: statistics.median(starts[name]))
    return Breakdown(
        stages={name: stages[name] for name in order},
        totals=totals,
        after_reply=after,
        events_per_chat=sum(counts) / len(counts) if counts else 0.0,
        missing=missing,
    )


def dominant(b: Breakdown) -> tuple[str, float]:
    """The stage with the largest share of the mean latency, and that share."""
    if not b.stages:
        return ("–", 0.0)
    name = max(b.stages, key=b.share)
    return name, b.share(name)


def stage_order(*breakdowns: Breakdown) -> list[str]:
    """Every stage of the breakdowns, the first one's order first."""
    names: list[str] = []
    for b in breakdowns:
        names += [n for n in b.stages if n not in names]
    return names
