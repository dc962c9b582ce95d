"""The envelope every event carries (DESIGN §4)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import msgspec
from msgspec import Meta

from animas_contracts.ids import uuid7


def utc_now() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


class Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    """Base of every event on the activity stream.

    Subclasses are tagged by their type (``message.received``); the tag is written to the
    ``type`` field. ``v`` is the schema version of the payload: a subclass at version N declares
    ``v: int = N`` and the registry upcasts stored payloads of older versions on read.
    """

    anima: Annotated[str, Meta(description="The anima this event belongs to (a validated name).")]
    correlation_id: Annotated[
        str, Meta(description="One conversation or cycle: every event it causes shares this id.")
    ]
    producer: Annotated[str, Meta(description="The service that emitted the event.")]
    causation_id: Annotated[
        str | None, Meta(description="Id of the event that caused this one; null for an origin.")
    ] = None
    id: Annotated[
        str,
        Meta(description="uuid7 for new facts, derived from the cause for effects; also the Nats-Msg-Id."),
    ] = msgspec.field(default_factory=uuid7)
    ts: Annotated[datetime, Meta(description="When the event was emitted (UTC).")] = msgspec.field(
        default_factory=utc_now
    )
    v: Annotated[int, Meta(description="Schema version of this event type's payload.")] = 1

    @property
    def event_type(self) -> str:
        """The type tag of this event, e.g. ``message.received``."""
        tag = type(self).__struct_config__.tag
        assert isinstance(tag, str)
        return tag
