"""What an anima sends out: messages to other animas and posts to shared channels (boards).

An anima's cycle asks (``outbound.requested``); the outbound service delivers and records the
result. A message to another anima arrives as that anima's ``message.received``.
"""

from __future__ import annotations

import enum
from typing import Annotated

from msgspec import Meta

from animas_contracts.envelope import Event
from animas_contracts.messaging import MessageKind, TaskLink


class OutboundKind(enum.StrEnum):
    """Where an outbound request goes."""

    MESSAGE = "message"
    """A direct message to another anima (``to`` is its name)."""
    CHANNEL = "channel"
    """A post on a shared channel (``to`` is the channel name)."""
    EXTERNAL = "external"
    """An answer to a person on an outside platform (Slack, Chatwork, a generic webhook's callback),
    posted by outbound back where the message came from (``to`` is the webhook source). Only
    outbound records it, for a ``response.sent`` with a ``source``; a request of this kind is refused."""


class OutboundRequested(Event, frozen=True, kw_only=True, tag="outbound.requested"):
    """An anima asked to send something. Its id is derived from the cycle and the tool call."""

    kind: Annotated[OutboundKind, Meta(description="message or channel.")]
    to: Annotated[str, Meta(description="The recipient anima or the channel name.")]
    text: Annotated[str, Meta(description="What to send.")]
    thread_id: Annotated[str, Meta(description="The thread the message belongs to.")]
    reply_to: Annotated[str | None, Meta(description="Id of the message this one answers, if any.")] = None
    cycle_id: Annotated[str | None, Meta(description="The cycle that asked, if any.")] = None
    attachments: Annotated[list[str], Meta(description="File references that travel with it.")] = []  # noqa: RUF012
    intent: Annotated[
        MessageKind, Meta(description="For a message: message, ack, task or report (what it is for).")
    ] = MessageKind.MESSAGE
    hops: Annotated[
        int, Meta(description="The hops the delivered message will carry (see message.received).")
    ] = 1
    pair_depth: Annotated[int, Meta(description="The pair depth the delivered message will carry.")] = 1
    task: Annotated[TaskLink | None, Meta(description="The delegated task a task or report is about.")] = None


class GuardRule(enum.StrEnum):
    """Which storm guard (seed 003 §7) or loop limit refused a message."""

    HOP_LIMIT = "hop_limit"
    """The thread's chain of anima-to-anima messages reached its limit."""
    PAIR_DEPTH = "pair_depth"
    """Two animas went back and forth too many times in one chain."""
    ONE_PER_CYCLE = "one_per_cycle"
    """A second message to the same recipient in one cycle."""
    RATE = "rate"
    """The sender's messages in its role's rate window."""
    BILATERAL = "bilateral"
    """Messages between one pair, both ways, within the exchange window."""
    CASCADE = "cascade"
    """Messages across the organization in one conversation grew past the cascade threshold."""
    DELEGATION = "delegation"
    """A task delegated to an anima that is not the sender's direct subordinate."""
    BOARD = "board"
    """A post to a board that does not exist or that the sender may not post to."""


class MessagingRefused(Event, frozen=True, kw_only=True, tag="messaging.refused"):
    """A guard refused a message; recorded on the sender's subject beside its ``outbound.failed``."""

    request_id: Annotated[str, Meta(description="Id of the refused request (or response).")]
    rule: Annotated[GuardRule, Meta(description="Which guard refused it.")]
    to: Annotated[str, Meta(description="The intended recipient or board.")]
    thread_id: Annotated[str, Meta(description="The thread it belonged to.")]
    reason: Annotated[str, Meta(description="Why, in words the sender can act on.")]


class OutboundDelivered(Event, frozen=True, kw_only=True, tag="outbound.delivered"):
    """outbound delivered a request (recorded on the sender's subject)."""

    request_id: Annotated[str, Meta(description="Id of the outbound.requested event.")]
    kind: Annotated[OutboundKind, Meta(description="message, channel or external.")]
    to: Annotated[str, Meta(description="The recipient anima, the channel, or the webhook source.")]
    delivered_id: Annotated[str, Meta(description="Id of the event that carried it to the recipient.")]
    text: Annotated[
        str, Meta(description="What was delivered (the sender's dm_sent / channel_post entry).")
    ] = ""
    intent: Annotated[MessageKind, Meta(description="For a message: what it was for.")] = MessageKind.MESSAGE
    thread_id: Annotated[str | None, Meta(description="The thread it was delivered in.")] = None


class OutboundFailed(Event, frozen=True, kw_only=True, tag="outbound.failed"):
    """outbound could not deliver a request; nothing reached the recipient."""

    request_id: Annotated[str, Meta(description="Id of the outbound.requested event.")]
    kind: Annotated[OutboundKind, Meta(description="message, channel or external.")]
    to: Annotated[str, Meta(description="The recipient anima, the channel, or the webhook source.")]
    reason: Annotated[str, Meta(description="Why, in words the sender can act on.")]


class ChannelPosted(Event, frozen=True, kw_only=True, tag="channel.posted"):
    """A post on a shared channel, recorded on the poster's subject (seed 003 §4.10 ``channel_post``)."""

    channel: Annotated[str, Meta(description="The channel's name, e.g. general.")]
    text: Annotated[str, Meta(description="The post.")]
    thread_id: Annotated[str, Meta(description="The thread the post belongs to.")]
    request_id: Annotated[str, Meta(description="Id of the outbound.requested event.")]
