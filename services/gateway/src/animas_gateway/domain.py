"""Validating chat requests and turning them into ``message.received`` events."""

from __future__ import annotations

import re
from typing import Any

import msgspec

from animas_contracts import MessageOrigin, MessageReceived, ResponseSent, derive_id, uuid7
from animas_core.api_config import ApiConfig
from animas_gateway import fields

MAX_SENDER_TOKEN = 100
"""Characters of the sender kept in its default thread id (thread ids are at most 128 by default)."""
PRODUCER = "gateway"


class ChatRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Body of ``POST /api/animas/{name}/chat``.

    ``client_message_id`` does what the ``Idempotency-Key`` header does: a retry with the same one
    is the same message, stored once and answered once.
    """

    message: str
    sender: str = "human"
    thread_id: str | None = None
    client_message_id: str | None = None


class BadRequest(ValueError):
    """A request the gateway refuses, with a message for the client."""


def parse_chat_request(body: bytes, limits: ApiConfig) -> ChatRequest:
    """Decode and check a chat request body (already known to be UTF-8 within the body limit)."""
    try:
        request = msgspec.json.decode(body, type=ChatRequest)
    except msgspec.ValidationError as exc:
        raise BadRequest(f"invalid chat request: {exc}") from None
    except msgspec.DecodeError as exc:
        raise BadRequest(f"chat request is not valid JSON: {exc}") from None
    try:
        fields.text("message", request.message, max_chars=limits.max_message_chars)
        fields.one_line("sender", request.sender, fields.MAX_SENDER_CHARS)
        if request.thread_id is not None:
            fields.thread_id(request.thread_id, limits.max_thread_id_chars)
        if request.client_message_id is not None:
            fields.idempotency_key("client_message_id", request.client_message_id)
    except fields.FieldError as exc:
        raise BadRequest(f"invalid chat request: {exc}") from None
    return request


def idempotency_key(header: str | None, request: ChatRequest) -> str | None:
    """The key that makes retries of this request one message: the header's or the body's (both: equal)."""
    if header is not None:
        try:
            fields.idempotency_key("Idempotency-Key", header)
        except fields.FieldError as exc:
            raise BadRequest(f"invalid chat request: {exc}") from None
        if request.client_message_id is not None and request.client_message_id != header:
            raise BadRequest(
                "invalid chat request: the Idempotency-Key header and 'client_message_id' differ; send one"
            )
        return header
    return request.client_message_id


def ingress_message_id(anima: str, key: str) -> str:
    """The id of the message a client's key stands for: the same anima and key, the same id.

    The anima is part of it, so two animas' clients never collide, and an anima name cannot
    contain ``/``, so no anima and key pair can spell another's.
    """
    return derive_id("ingress", anima, key)


def message_event(anima: str, request: ChatRequest, key: str | None = None) -> MessageReceived:
    """The event a chat request becomes. A new thread gets the message's id as its id.

    With a key the id is derived from it, so a retry is the very same event (JetStream's duplicate
    window and the ingress check drop it); without one it is a fresh uuid7.
    """
    message_id = ingress_message_id(anima, key) if key is not None else uuid7()
    return MessageReceived(
        id=message_id,
        anima=anima,
        correlation_id=message_id,
        producer=PRODUCER,
        text=request.message,
        sender=request.sender,
        thread_id=request.thread_id or default_thread(request.sender),
        origin=MessageOrigin.HUMAN,
    )


def default_thread(sender: str) -> str:
    """The thread of a person who names none: one running conversation per person.

    Conversation memory is per thread, so a client that sends no ``thread_id`` still continues
    where it left off; one that wants separate conversations names its threads.
    """
    token = re.sub(r"[^A-Za-z0-9._:-]", "-", sender)[:MAX_SENDER_TOKEN]
    return f"dm:{token}"


def same_message(stored: MessageReceived, retry: MessageReceived) -> bool:
    """Whether a retry says what the stored message said (a key reused for other words is an error)."""
    return (stored.text, stored.sender, stored.thread_id) == (retry.text, retry.sender, retry.thread_id)


def message_ids(event: MessageReceived) -> dict[str, Any]:
    """The ids a client keeps to follow its message: every chat answer carries them."""
    return {"message_id": event.id, "correlation_id": event.correlation_id, "thread_id": event.thread_id}


def reply_body(event: MessageReceived, answer: ResponseSent) -> dict[str, Any]:
    """What a chat request answers once the anima has replied (``/chat`` and ``/chat/stream`` alike)."""
    return {
        **message_ids(event),
        "reply": answer.text,
        "outcome": answer.outcome.value,
        "model": answer.model,
        "reply_id": answer.id,
        "notice": answer.notice,
    }


def not_ready_detail(event: MessageReceived, timeout_s: float) -> str:
    """Why a chat request ends without the reply, and where to look for it later."""
    return (
        "the message is stored and will be answered; the reply was not ready "
        f"within {timeout_s:g}s (see `anima events --correlation-id {event.correlation_id}`)"
    )
