"""The episode entry a cycle leaves (seed 003 §4.5): its heading, what it keeps of the message, its id."""

from __future__ import annotations

from datetime import datetime

from animas_agent_runner.domain import PRODUCER, cycle_id_for
from animas_contracts import (
    AppendEpisode,
    MemoryOpRequested,
    MessageOrigin,
    MessageReceived,
    Trigger,
    derive_id,
)
from animas_core.episodes import said_gist


def episode_request(
    message: MessageReceived,
    *,
    at: datetime,
    decision: str,
    result: str,
    lesson: str,
    trigger: Trigger = Trigger.MESSAGE,
) -> MemoryOpRequested:
    """The episode entry that encodes a cycle (seed 003 §4.5); its id is derived, so it is written once."""
    cycle_id = cycle_id_for(message.id)
    title, label = episode_heading(message, trigger)
    return MemoryOpRequested(
        id=derive_id(cycle_id, "episode"),
        anima=message.anima,
        correlation_id=message.correlation_id,
        causation_id=cycle_id,
        producer=PRODUCER,
        cycle_id=cycle_id,
        op=AppendEpisode(
            title=title,
            at=at,
            trigger=label,
            decision=decision,
            result=result,
            lesson=lesson or "None",
            said=said_of(message, trigger),
        ),
    )


def said_of(message: MessageReceived, trigger: Trigger) -> str:
    """What the episode keeps of the message that woke the anima.

    The words of a person or an anima (shortened faithfully when long); nothing for the prompts
    of its own clock (heartbeat, cron).
    """
    if trigger is Trigger.CRON or message.sender == "heartbeat":
        return ""
    return said_gist(message.text)


def episode_heading(message: MessageReceived, trigger: Trigger) -> tuple[str, str]:
    """An episode entry's title and trigger line: what woke the anima, in words."""
    from_anima = message.origin is MessageOrigin.ANIMA
    who = f"{'Message from' if from_anima else 'Reply to'} {message.sender}"
    if trigger is Trigger.CRON:
        return "Cron task", "Cron (its own schedule)"
    if trigger is Trigger.HEARTBEAT:
        # A deferred message answered at a heartbeat keeps its sender in the title.
        title = "Heartbeat" if message.sender == "heartbeat" else f"Heartbeat: {who}"
        return title, "Heartbeat (its own clock)"
    return who, trigger_label(message)


def trigger_label(message: MessageReceived) -> str:
    """How an episode names what woke the anima."""
    return f"Message received (from {message.sender})"
