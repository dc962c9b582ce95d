"""Messages into an anima and replies out of it."""

from __future__ import annotations

import enum
from typing import Annotated

from msgspec import Meta

from animas_contracts.envelope import Event


class MessageOrigin(enum.StrEnum):
    """Where a message came from; only the gateway may publish messages from outside."""

    HUMAN = "human"
    ANIMA = "anima"
    EXTERNAL = "external"


class ResponseOutcome(enum.StrEnum):
    """What kind of answer a response is."""

    REPLY = "reply"
    """The anima's model answered."""
    CONFIGURATION_NEEDED = "configuration_needed"
    """No usable model is configured; the text says how to configure one."""
    ERROR = "error"
    """The cycle failed; the text says why in words fit for the sender."""


class MessageReceived(Event, frozen=True, kw_only=True, tag="message.received"):
    """A message arrived for an anima (from a human, another anima or an external system)."""

    text: Annotated[str, Meta(description="The message body.")]
    sender: Annotated[str, Meta(description="Who sent it: a human's name or an anima's name.")]
    thread_id: Annotated[str, Meta(description="The conversation thread this message belongs to.")]
    reply_to: Annotated[str | None, Meta(description="Id of the message this one answers, if any.")] = None
    origin: Annotated[MessageOrigin, Meta(description="Where the message came from.")] = MessageOrigin.HUMAN
    attachments: Annotated[list[str], Meta(description="File references that travel with the message.")] = []  # noqa: RUF012 - msgspec copies mutable defaults per instance


class ResponseSent(Event, frozen=True, kw_only=True, tag="response.sent"):
    """An anima answered a message. Its id is derived from the message id, so it exists once."""

    text: Annotated[str, Meta(description="The reply text.")]
    in_reply_to: Annotated[str, Meta(description="Id of the message being answered.")]
    to: Annotated[str, Meta(description="The sender of that message.")]
    thread_id: Annotated[str, Meta(description="The thread of that message.")]
    outcome: Annotated[ResponseOutcome, Meta(description="What kind of answer this is.")] = (
        ResponseOutcome.REPLY
    )
    model: Annotated[
        str | None, Meta(description="The model that produced the reply; null when none did.")
    ] = None
    notice: Annotated[
        str | None,
        Meta(description="A note for the reader about the answer, e.g. that a small local model wrote it."),
    ] = None
