"""Operational records that are not activity events: dead letters and rebuild requests."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import Meta

from animas_contracts.envelope import utc_now


class DeadLetter(msgspec.Struct, frozen=True, kw_only=True):
    """A message a service could not process, kept with the reason and the original bytes."""

    service: Annotated[str, Meta(description="The service that gave up on the message.")]
    reason: Annotated[str, Meta(description="Why, in words an operator can act on.")]
    subject: Annotated[str, Meta(description="The subject the message was stored under.")]
    headers: Annotated[dict[str, str], Meta(description="The original headers.")]
    data: Annotated[bytes, Meta(description="The original payload bytes (base64 in JSON).")]
    stream: Annotated[str | None, Meta(description="Stream the message came from.")] = None
    stream_seq: Annotated[int | None, Meta(description="Its sequence in that stream.")] = None
    deliveries: Annotated[int, Meta(description="How many times it was delivered.")] = 1
    ts: Annotated[datetime, Meta(description="When it was dead-lettered (UTC).")] = msgspec.field(
        default_factory=utc_now
    )


class RebuildRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Ask memory-writer to rebuild its activity-log projection from the stream."""

    anima: Annotated[str | None, Meta(description="One anima, or null for all.")] = None


class RebuildReply(msgspec.Struct, frozen=True, kw_only=True):
    """What a rebuild did."""

    ok: bool
    animas: list[str] = []
    events: int = 0
    files: int = 0
    error: str | None = None
