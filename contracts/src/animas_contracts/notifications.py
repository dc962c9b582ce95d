"""Notifying a person (seed 003 §4.10 ``human_notify``): an anima asks, outbound delivers.

``human.notify.requested`` is the anima's request (its id derived from the cycle and the tool
call). outbound delivers it to every configured channel (ntfy, a Slack incoming webhook,
Chatwork, email, a signed webhook) with retries and an idempotency key, and records one
``human.notified`` per channel it reached or ``human.notify.failed`` for a channel it gave up on
(dead-lettered too). The same notification from the same anima within 24 hours is sent once.
"""

from __future__ import annotations

import enum
from typing import Annotated

from msgspec import Meta

from animas_contracts.envelope import Event


class NotifyPriority(enum.StrEnum):
    """How urgent a notification is (mapped to each channel's own notion of priority)."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class HumanNotifyRequested(Event, frozen=True, kw_only=True, tag="human.notify.requested"):
    """An anima asked to notify its people."""

    subject: Annotated[str, Meta(description="A short subject line.")]
    body: Annotated[str, Meta(description="The notification text.")]
    priority: Annotated[NotifyPriority, Meta(description="low, normal, high or urgent.")] = (
        NotifyPriority.NORMAL
    )
    dedup_key: Annotated[
        str,
        Meta(
            description="Same key from the same anima within 24 hours: sent once "
            "(a digest of subject and body)."
        ),
    ]
    cycle_id: Annotated[str | None, Meta(description="The cycle that asked, if any.")] = None


class HumanNotified(Event, frozen=True, kw_only=True, tag="human.notified"):
    """outbound delivered a notification to one channel (or skipped it as a repeat)."""

    request_id: Annotated[str, Meta(description="Id of the human.notify.requested event.")]
    channel: Annotated[str, Meta(description="The configured channel's name, e.g. ntfy or slack.")]
    attempts: Annotated[int, Meta(description="Attempts it took, from 1.")] = 1
    duplicate_of: Annotated[
        str | None, Meta(description="Set when it was not sent again: the earlier request within 24 hours.")
    ] = None


class HumanNotifyFailed(Event, frozen=True, kw_only=True, tag="human.notify.failed"):
    """outbound gave up on one channel of a notification; it was dead-lettered."""

    request_id: Annotated[str, Meta(description="Id of the human.notify.requested event.")]
    channel: Annotated[str, Meta(description="The configured channel's name.")]
    attempts: Annotated[int, Meta(description="Attempts made.")]
    reason: Annotated[str, Meta(description="The last error, without secrets.")]
