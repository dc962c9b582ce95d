"""What a verified webhook says, and the events it becomes. Pure: bytes in, values out.

A body is read only after its signature is verified. It comes to one of three things:

- :class:`Inbound`: a message for the source's anima, with the sender, thread and delivery key
  the platform gives it (Slack ``slack:<user>`` in ``slack:<channel>:<thread ts>``, Chatwork
  ``chatwork:<account>`` in ``chatwork:<room>``, a generic source ``webhook:<source>[:<sender>]``);
- :class:`Challenge`: Slack's ``url_verification``, answered with its challenge;
- :class:`Ignored`: something that is not a person's new message (a bot's message, an edit, a
  join, another event type, a post of the account Chatwork answers are sent as): answered 200 so
  the platform does not retry it, and dropped.

The message's id is derived from the source and the platform's own id of the message
(:func:`webhook_message_id`), so a retried or duplicated delivery is the same event: JetStream's
duplicate window and the gateway's look-up of stored messages keep one. Senders and threads are
namespaced by platform (and a generic source by its name), so no webhook can speak as a person of
the web UI, an anima, or another platform's user, except a person the source's ``people`` map
(admin config) names: that platform user is then the person the animas know by that name (in
Slack only in a direct message, where the answer is read by that person alone).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import TypeVar

import msgspec

from animas_contracts import MessageOrigin, MessageReceived, WebhookRejected, derive_id, uuid7
from animas_core.api_config import ApiConfig
from animas_gateway import fields

PRODUCER = "gateway"
_T = TypeVar("_T")

SLACK_MESSAGE_EVENTS = frozenset({"message", "app_mention"})
SLACK_MESSAGE_SUBTYPES = frozenset({"thread_broadcast", "file_share"})
"""Subtypes that are still a person's new message; every other one (edits, deletions, joins,
bot messages, channel topic changes…) is ignored."""
CHATWORK_MESSAGE_EVENTS = frozenset({"message_created", "mention_to_me"})


class BadPayload(ValueError):
    """A verified body that is not what its kind sends (answered 422; the source signed it)."""


@dataclasses.dataclass(frozen=True)
class Inbound:
    """A person's message from outside."""

    text: str
    sender: str
    thread_id: str
    delivery_key: str | None
    """The platform's id of this message; retries carry the same one (None: every delivery is new)."""
    user: str | None = None
    """The platform's id of the person (the key of the source's ``people`` map); None where the map
    does not apply (a Slack message outside a direct message)."""


@dataclasses.dataclass(frozen=True)
class Challenge:
    """Slack's ``url_verification``: answer with ``challenge``."""

    challenge: str


@dataclasses.dataclass(frozen=True)
class Ignored:
    """Verified, answered 200, and dropped."""

    why: str


WebhookInput = Inbound | Challenge | Ignored

Scalar = str | int


class _SlackEvent(msgspec.Struct, kw_only=True):
    type: str = ""
    subtype: str | None = None
    bot_id: str | None = None
    user: str | None = None
    text: str = ""
    channel: str | None = None
    ts: str | None = None
    thread_ts: str | None = None


class _SlackEnvelope(msgspec.Struct, kw_only=True):
    type: str = ""
    challenge: str | None = None
    event_id: str | None = None
    event: _SlackEvent | None = None


class _ChatworkEvent(msgspec.Struct, kw_only=True):
    message_id: Scalar | None = None
    room_id: Scalar | None = None
    account_id: Scalar | None = None
    from_account_id: Scalar | None = None
    body: str = ""


class _ChatworkEnvelope(msgspec.Struct, kw_only=True):
    webhook_event_type: str = ""
    webhook_event: _ChatworkEvent | None = None


class _GenericBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    text: str
    sender: str | None = None
    thread_id: str | None = None
    id: str | None = None


def _decode(body: bytes, kind: type[_T]) -> _T:
    try:
        return msgspec.json.decode(body, type=kind)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise BadPayload(f"the body is not what this source sends: {exc}") from None


def slack_input(body: bytes) -> WebhookInput:
    """A Slack Events API body: a challenge, a person's message, or something ignored."""
    envelope = _decode(body, _SlackEnvelope)
    if envelope.type == "url_verification":
        if not envelope.challenge:
            raise BadPayload("url_verification without a challenge")
        return Challenge(envelope.challenge)
    if envelope.type != "event_callback" or envelope.event is None:
        return Ignored(f"Slack {envelope.type or 'untyped'} request")
    event = envelope.event
    if event.type not in SLACK_MESSAGE_EVENTS:
        return Ignored(f"Slack event {event.type!r}")
    if event.bot_id or event.subtype == "bot_message":
        return Ignored("a bot's message")
    if event.subtype is not None and event.subtype not in SLACK_MESSAGE_SUBTYPES:
        return Ignored(f"Slack message subtype {event.subtype!r}")
    if not event.user or not event.channel or not event.ts:
        return Ignored("a Slack message without user, channel or ts")
    if not event.text.strip():
        return Ignored("a Slack message without text")
    # The answer is posted where the message was: only in a DM (channel D…) is its reader the
    # mapped person alone, so only there may it draw on that person's own memories.
    direct = event.channel.startswith("D")
    # Slack sends one message as two events when the app listens to both `message` and
    # `app_mention`; the message's own (channel, ts) makes them one, as it does retries.
    return Inbound(
        text=event.text,
        sender=f"slack:{event.user}",
        thread_id=f"slack:{event.channel}:{event.thread_ts or event.ts}",
        delivery_key=f"slack:{event.channel}:{event.ts}",
        user=event.user if direct else None,
    )


def chatwork_input(body: bytes, answering_account: int | None = None) -> WebhookInput:
    """A Chatwork webhook body: a new message (or a mention of the account), or something ignored.

    A message from ``answering_account`` (the account outbound posts the answers as) is ignored:
    Chatwork's webhook fires for that account's own posts, and each answer would be a new message.
    """
    envelope = _decode(body, _ChatworkEnvelope)
    event = envelope.webhook_event
    if envelope.webhook_event_type not in CHATWORK_MESSAGE_EVENTS or event is None:
        return Ignored(f"Chatwork event {envelope.webhook_event_type or 'untyped'!r}")
    account = event.account_id if event.account_id is not None else event.from_account_id
    if event.message_id is None or event.room_id is None or account is None:
        raise BadPayload("a Chatwork message without message_id, room_id or account")
    if answering_account is not None and str(account) == str(answering_account):
        return Ignored("a message of the account the answers are posted as")
    if not event.body.strip():
        return Ignored("a Chatwork message without text")
    return Inbound(
        text=event.body,
        sender=f"chatwork:{account}",
        thread_id=f"chatwork:{event.room_id}",
        delivery_key=f"chatwork:{event.message_id}",
        user=str(account),
    )


def generic_input(source: str, body: bytes) -> WebhookInput:
    """A generic source's ``{"text", "sender"?, "thread_id"?, "id"?}``."""
    sent = _decode(body, _GenericBody)
    sender = f"webhook:{source}" + (f":{sent.sender}" if sent.sender else "")
    thread = f"webhook:{source}" + (f":{sent.thread_id}" if sent.thread_id else "")
    if sent.id is not None:
        _checked(lambda: fields.idempotency_key("id", sent.id or ""))
    return Inbound(text=sent.text, sender=sender, thread_id=thread, delivery_key=sent.id, user=sent.sender)


def read_input(kind: str, source: str, body: bytes, answering_account: int | None = None) -> WebhookInput:
    """The body of a verified request of a source of ``kind``.

    ``answering_account``: a Chatwork source's ``account_id``, whose messages are ignored.
    """
    if kind == "slack":
        return slack_input(body)
    if kind == "chatwork":
        return chatwork_input(body, answering_account)
    return generic_input(source, body)


def _checked(check: Callable[[], object]) -> None:
    try:
        check()
    except fields.FieldError as exc:
        raise BadPayload(str(exc)) from None


def webhook_message_id(source: str, delivery_key: str) -> str:
    """The id of the message a source's delivery stands for: the same source and key, the same id."""
    return derive_id("webhook", source, delivery_key)


def message_event(
    source: str, anima: str, inbound: Inbound, limits: ApiConfig, people: Mapping[str, str] | None = None
) -> MessageReceived:
    """The ``message.received`` (origin external) a verified message becomes.

    It names its ``source``, where outbound posts the answer. A person in the source's ``people``
    map is the sender by that name (the peer the animas know from the web chat); the thread stays
    the platform's, so the answer goes back there.

    Raises:
        BadPayload: the text, sender or thread is not one the API accepts (too long, control
            characters).
    """
    _checked(lambda: fields.text("text", inbound.text, max_chars=limits.max_message_chars))
    _checked(lambda: fields.one_line("sender", inbound.sender, fields.MAX_SENDER_CHARS))
    _checked(lambda: fields.thread_id(inbound.thread_id, limits.max_thread_id_chars))
    key = inbound.delivery_key
    message_id = webhook_message_id(source, key) if key is not None else uuid7()
    return MessageReceived(
        id=message_id,
        anima=anima,
        correlation_id=message_id,
        producer=PRODUCER,
        text=inbound.text,
        sender=sender_of(inbound, people or {}),
        thread_id=inbound.thread_id,
        origin=MessageOrigin.EXTERNAL,
        source=source,
    )


def sender_of(inbound: Inbound, people: Mapping[str, str]) -> str:
    """The person ``people`` maps the platform user to, else the namespaced ``<platform>:<id>``."""
    if inbound.user is not None and inbound.user in people:
        return people[inbound.user]
    return inbound.sender


def rejected_event(
    source: str, kind: str, anima: str, reason: str, remote_address: str | None
) -> WebhookRejected:
    """The record of a refused request: who it claimed to be and why it was refused, nothing it carried."""
    event_id = uuid7()
    return WebhookRejected(
        id=event_id,
        anima=anima,
        correlation_id=event_id,
        producer=PRODUCER,
        source=source,
        kind=kind,
        reason=reason,
        remote_address=remote_address,
    )
