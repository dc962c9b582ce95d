"""What an anima sends out: messages to other animas and posts to shared channels (boards).

An anima's cycle asks (``outbound.requested``); the outbound service delivers and records the
result. A message to another anima arrives as that anima's ``message.received``.
"""

from __future__ import annotations

import enum
from typing import Annotated

from msgspec import Meta

from animas_contracts.envelope import Event


class OutboundKind(enum.StrEnum):
    """Where an outbound request goes."""

    MESSAGE = "message"
    """A direct message to another anima (``to`` is its name)."""
    CHANNEL = "channel"
    """A post on a shared channel (``to`` is the channel name)."""


class OutboundRequested(Event, frozen=True, kw_only=True, tag="outbound.requested"):
    """An anima asked to send something. Its id is derived from the cycle and the tool call."""

    kind: Annotated[OutboundKind, Meta(description="message or channel.")]
    to: Annotated[str, Meta(description="The recipient anima or the channel name.")]
    text: Annotated[str, Meta(description="What to send.")]
    thread_id: Annotated[str, Meta(description="The thread the message belongs to.")]
    reply_to: Annotated[str | None, Meta(description="Id of the message this one answers, if any.")] = None
    cycle_id: Annotated[str | None, Meta(description="The cycle that asked, if any.")] = None
    attachments: Annotated[list[str], Meta(description="File references that travel with it.")] = []  # noqa: RUF012


class OutboundDelivered(Event, frozen=True, kw_only=True, tag="outbound.delivered"):
    """outbound delivered a request (recorded on the sender's subject)."""

    request_id: Annotated[str, Meta(description="Id of the outbound.requested event.")]
    kind: Annotated[OutboundKind, Meta(description="message or channel.")]
    to: Annotated[str, Meta(description="The recipient anima or the channel.")]
    delivered_id: Annotated[str, Meta(description="Id of the event that carried it to the recipient.")]


class OutboundFailed(Event, frozen=True, kw_only=True, tag="outbound.failed"):
    """outbound could not deliver a request; nothing reached the recipient."""

    request_id: Annotated[str, Meta(description="Id of the outbound.requested event.")]
    kind: Annotated[OutboundKind, Meta(description="message or channel.")]
    to: Annotated[str, Meta(description="The recipient anima or the channel.")]
    reason: Annotated[str, Meta(description="Why, in words the sender can act on.")]


class ChannelPosted(Event, frozen=True, kw_only=True, tag="channel.posted"):
    """A post on a shared channel, recorded on the poster's subject (seed 003 §4.10 ``channel_post``)."""

    channel: Annotated[str, Meta(description="The channel's name, e.g. general.")]
    text: Annotated[str, Meta(description="The post.")]
    thread_id: Annotated[str, Meta(description="The thread the post belongs to.")]
    request_id: Annotated[str, Meta(description="Id of the outbound.requested event.")]
