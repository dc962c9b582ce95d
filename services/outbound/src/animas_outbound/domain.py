"""Pure decisions of outbound: whether a request can be delivered, and the events that record it.

No I/O here. The handler asks memory-writer about the recipient and the stream about earlier
attempts, then publishes what these functions return, in the order they return it.

Every event outbound emits has an id derived from the request's id, so a redelivered request
yields the same events and JetStream's duplicate window (or the handler's ledger check after
the window) drops the repeat: the recipient gets the message once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from animas_contracts import (
    AnimaSummary,
    ChannelPosted,
    GuardRule,
    InvalidAnimaName,
    MessageKind,
    MessageOrigin,
    MessageReceived,
    MessagingRefused,
    OutboundDelivered,
    OutboundFailed,
    OutboundKind,
    OutboundRequested,
    ResponseSent,
    derive_id,
    validate_anima_name,
)
from animas_core.messaging_config import MessagingConfig

PRODUCER = "outbound"

Delivery = MessageReceived | ChannelPosted
"""The event that carries a request to where it goes."""


@dataclasses.dataclass(frozen=True)
class Refusal:
    """A guard's no: which rule, and why in words the sender can act on."""

    rule: GuardRule
    reason: str


def answer_request(response: ResponseSent) -> OutboundRequested:
    """An answer to another anima's question, as the request outbound settles to deliver it.

    The request takes the response's id, so every record of its delivery is derived from the
    response and a redelivered response is settled once, like any request.
    """
    return OutboundRequested(
        id=response.id,
        anima=response.anima,
        correlation_id=response.correlation_id,
        causation_id=response.causation_id,
        producer=response.producer,
        ts=response.ts,
        kind=OutboundKind.MESSAGE,
        to=response.to,
        text=response.text,
        thread_id=response.thread_id,
        reply_to=response.in_reply_to,
        intent=MessageKind.REPLY,
        hops=response.hops + 1,
        pair_depth=response.pair_depth + 1,
    )


def loop_refusal(request: OutboundRequested, limits: MessagingConfig) -> Refusal | None:
    """Whether a message would carry its chain past the hop or the pair limit (acks pass)."""
    if request.kind is not OutboundKind.MESSAGE or request.intent is MessageKind.ACK:
        return None
    if request.hops > limits.max_hops:
        return Refusal(
            GuardRule.HOP_LIMIT,
            f"this thread's chain of messages between animas reached {limits.max_hops} hops; "
            f"nothing more is delivered in it. Start a new conversation if the work needs one.",
        )
    if request.pair_depth > limits.max_pair_depth:
        return Refusal(
            GuardRule.PAIR_DEPTH,
            f"{request.anima} and {request.to} went back and forth {limits.max_pair_depth} times in "
            "this chain; the loop was stopped. Settle it in one message or ask a person.",
        )
    return None


def refused(request: OutboundRequested, refusal: Refusal) -> MessagingRefused:
    """The sender's record that a guard refused its request."""
    return MessagingRefused(
        id=derive_id(request.id, "refused"),
        anima=request.anima,
        correlation_id=request.correlation_id,
        causation_id=request.id,
        producer=PRODUCER,
        request_id=request.id,
        rule=refusal.rule,
        to=request.to,
        thread_id=request.thread_id,
        reason=refusal.reason,
    )


def delivery_id(request_id: str) -> str:
    """Id of the event that carries a request: the recipient's ``message.received`` or the post."""
    return derive_id(request_id, "delivery")


def delivered_id(request_id: str) -> str:
    """Id of the ``outbound.delivered`` record of a request."""
    return derive_id(request_id, "delivered")


def failed_id(request_id: str) -> str:
    """Id of the ``outbound.failed`` record of a request."""
    return derive_id(request_id, "failed")


def validate_channel_name(name: str) -> str:
    """Return ``name`` if it is a valid channel name, else raise :class:`InvalidAnimaName`.

    Channel names follow the anima-name rules on purpose: a channel becomes a subject token and
    a file name just as an anima does, so :func:`animas_contracts.validate_anima_name` checks
    both (lowercase letters, digits, ``_`` or ``-``, starting with a letter, at most 64).
    """
    return validate_anima_name(name)


def refusal(request: OutboundRequested) -> str | None:
    """Why a request can never be delivered, whoever exists; None when it may be."""
    if request.kind is OutboundKind.EXTERNAL:
        # Answers reach outside platforms only as the answer to the message that came from there.
        return "an anima cannot post to an outside platform directly; its answer to a message goes back there"
    if request.kind is OutboundKind.CHANNEL:
        try:
            validate_channel_name(request.to)
        except InvalidAnimaName as exc:
            return f"{request.to!r} is not a valid channel name ({exc})"
        return None
    try:
        validate_anima_name(request.to)
    except InvalidAnimaName as exc:
        return f"{request.to!r} is not a valid anima name, so no anima can have it ({exc})"
    if request.to == request.anima:
        return "an anima cannot send a message to itself: send it to another anima or post it on a channel"
    return None


def needs_recipient(request: OutboundRequested) -> bool:
    """Whether delivery depends on the recipient anima existing and being enabled."""
    return request.kind is OutboundKind.MESSAGE


def recipient_refusal(name: str, animas: Iterable[AnimaSummary]) -> str | None:
    """Why anima ``name`` cannot receive a message now (unknown or disabled); None when it can."""
    found = next((anima for anima in animas if anima.name == name), None)
    if found is None:
        return f"there is no anima named {name!r}; nothing was sent"
    if not found.enabled:
        return f"anima {name!r} is disabled and receives no messages; nothing was sent"
    return None


def delivery(request: OutboundRequested) -> Delivery:
    """The event that carries a deliverable request (check :func:`refusal` first).

    A message becomes the recipient's ``message.received`` in the same thread and conversation
    (correlation id), caused by the request; a post is recorded on the poster's subject.
    """
    match request.kind:
        case OutboundKind.MESSAGE:
            return MessageReceived(
                id=delivery_id(request.id),
                anima=request.to,
                correlation_id=request.correlation_id,
                causation_id=request.id,
                producer=PRODUCER,
                text=request.text,
                sender=request.anima,
                thread_id=request.thread_id,
                reply_to=request.reply_to,
                origin=MessageOrigin.ANIMA,
                attachments=list(request.attachments),
                kind=request.intent,
                hops=request.hops,
                pair_depth=request.pair_depth,
                task=request.task,
            )
        case OutboundKind.EXTERNAL:
            raise ValueError("an external post is not a request outbound delivers (see refusal)")
        case OutboundKind.CHANNEL:
            return ChannelPosted(
                id=delivery_id(request.id),
                anima=request.anima,
                correlation_id=request.correlation_id,
                causation_id=request.id,
                producer=PRODUCER,
                channel=request.to,
                text=request.text,
                thread_id=request.thread_id,
                request_id=request.id,
            )


def delivered(request: OutboundRequested) -> OutboundDelivered:
    """The sender's record that its request was delivered."""
    return OutboundDelivered(
        id=delivered_id(request.id),
        anima=request.anima,
        correlation_id=request.correlation_id,
        causation_id=request.id,
        producer=PRODUCER,
        request_id=request.id,
        kind=request.kind,
        to=request.to,
        delivered_id=delivery_id(request.id),
        text=request.text,
        intent=request.intent,
        thread_id=request.thread_id,
    )


def failed(request: OutboundRequested, reason: str) -> OutboundFailed:
    """The sender's record that its request was not delivered, and why."""
    return OutboundFailed(
        id=failed_id(request.id),
        anima=request.anima,
        correlation_id=request.correlation_id,
        causation_id=request.id,
        producer=PRODUCER,
        request_id=request.id,
        kind=request.kind,
        to=request.to,
        reason=reason,
    )
