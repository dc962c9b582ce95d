"""Validating chat requests and turning them into ``message.received`` events."""

from __future__ import annotations

from typing import Any

import msgspec

from animas_contracts import MessageOrigin, MessageReceived, ResponseSent, uuid7

PRODUCER = "gateway"


class ChatRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Body of ``POST /api/animas/{name}/chat``."""

    message: str
    sender: str = "human"
    thread_id: str | None = None


class BadRequest(ValueError):
    """A request the gateway refuses, with a message for the client."""


def parse_chat_request(body: bytes, max_chars: int) -> ChatRequest:
    """Decode and check a chat request body."""
    try:
        request = msgspec.json.decode(body, type=ChatRequest)
    except msgspec.ValidationError as exc:
        raise BadRequest(f"invalid chat request: {exc}") from None
    except msgspec.DecodeError as exc:
        raise BadRequest(f"chat request is not valid JSON: {exc}") from None
    if not request.message.strip():
        raise BadRequest("invalid chat request: 'message' must not be empty")
    if len(request.message) > max_chars:
        raise BadRequest(f"invalid chat request: 'message' is longer than {max_chars} characters")
    if not request.sender.strip() or len(request.sender) > 200:
        raise BadRequest("invalid chat request: 'sender' must be 1 to 200 characters")
    return request


def message_event(anima: str, request: ChatRequest) -> MessageReceived:
    """The event a chat request becomes. A new thread gets the message's id as its id."""
    message_id = uuid7()
    return MessageReceived(
        id=message_id,
        anima=anima,
        correlation_id=message_id,
        producer=PRODUCER,
        text=request.message,
        sender=request.sender,
        thread_id=request.thread_id or message_id,
        origin=MessageOrigin.HUMAN,
    )


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


def error_body(message: str, **extra: Any) -> dict[str, Any]:
    """The JSON body of an error response."""
    return {"error": message, **extra}
