"""Encoding, the step after communicating: the cycle goes into today's episode (seed 003 §4.4, §4.5).

When the model wrote its own entry (the append_episode tool) the framework adds nothing; else it
writes one from what it saw: what was recalled, which tools ran, what was said and kept. The
entry is asked for, not awaited: memory-writer applies it in order, and a redelivered cycle asks
with the same derived id, so it is written once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from animas_agent_runner.cycle.episode_entry import episode_request
from animas_agent_runner.modes.tool_loop import ModeOutcome
from animas_agent_runner.toolbox.context import CycleEffects
from animas_contracts import MessageReceived, Trigger
from animas_core.broker import EventSink

SUMMARY_CHARS = 200


def _short(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= SUMMARY_CHARS else flat[: SUMMARY_CHARS - 1] + "…"


def describe_decision(outcome: ModeOutcome, effects: CycleEffects, recalled: Sequence[str]) -> str:
    """What the anima decided on, from what it recalled and did."""
    parts = []
    if outcome.decision:
        parts.append(outcome.decision)
    if recalled:
        shown = ", ".join(list(recalled)[:5]) + (" …" if len(recalled) > 5 else "")
        parts.append(f"Recalled {shown}")
    else:
        parts.append("Nothing surfaced from memory on its own")
    used = sorted(set(effects.tools_used))
    if used:
        parts.append(f"used {', '.join(used)}")
    if effects.denied:
        parts.append(f"refused by permissions: {', '.join(sorted(set(effects.denied)))}")
    return "; ".join(parts)


def describe_result(outcome: ModeOutcome, effects: CycleEffects) -> str:
    """What came of it."""
    result = f"Replied: {_short(outcome.reply)}" if outcome.reply else "No reply text"
    if effects.messages_sent:
        result += f"; sent to {', '.join(effects.messages_sent)}"
    if outcome.chains:
        result += f"; continued in {outcome.chains} new session(s), state saved under shortterm/archive/"
    return result


async def encode_cycle(
    publisher: EventSink,
    message: MessageReceived,
    outcome: ModeOutcome,
    effects: CycleEffects,
    recalled: Sequence[str],
    now: datetime,
    trigger: Trigger = Trigger.MESSAGE,
) -> None:
    """Ask for the episode entry of this cycle, unless the model wrote one itself."""
    if effects.episode_written:
        return
    lesson = outcome.lesson or "; ".join(effects.remembered) or "None"
    await publisher.publish(
        episode_request(
            message,
            at=now,
            decision=describe_decision(outcome, effects, recalled),
            result=describe_result(outcome, effects),
            lesson=_short(lesson),
            trigger=trigger,
        )
    )
