"""What ``anima status`` says about notifications to people: the channels outbound gave up on."""

from __future__ import annotations

from nats.js import JetStreamContext

from animas_core.notify_records import failed_outcomes

SHOWN = 20
"""The most recent failures listed; the count covers all of them."""


async def notification_lines(js: JetStreamContext) -> list[str]:
    """A section listing failed notification channels (dead-lettered); nothing when none failed."""
    failed = await failed_outcomes(js)
    if not failed:
        return []
    lines = [f"notifications failed: {len(failed)} (dead-lettered on deadletter.outbound)"]
    for outcome in failed[-SHOWN:]:
        lines.append(
            f"  {outcome.ts[:19]} {outcome.anima} -> {outcome.channel}: {outcome.subject!r} "
            f"gave up after {outcome.attempts} attempt(s): {outcome.reason}"
        )
    return lines
