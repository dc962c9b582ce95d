"""The OpenAI chat-completions wire format: request validation and the response bodies. Pure.

Only what a chat client needs is read: ``messages``, ``max_tokens`` (or ``max_completion_tokens``),
``temperature``, ``stop``, ``stream`` and ``stream_options.include_usage``. Everything else
(``tools``, ``tool_choice``, ``response_format``, ``top_p``…) is accepted and ignored: the tiny model
cannot follow tool schemas, and agent-runner drives it in assisted mode without them.
"""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from typing import Any

from animas_local_llm.ports import ChatMessage

# Roles the chat template knows; the others are mapped onto them.
_ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant", "tool": "user"}


class ApiError(Exception):
    """An error answered in OpenAI's shape: ``{"error": {"message", "type", "param", "code"}}``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code

    def body(self) -> dict[str, Any]:
        """The JSON body of the error response (also sent as an SSE frame mid-stream)."""
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


@dataclasses.dataclass(frozen=True)
class ChatRequest:
    """A validated chat-completions request."""

    messages: list[ChatMessage]
    max_tokens: int | None
    temperature: float
    stream: bool
    include_usage: bool
    stop: tuple[str, ...] = ()


def _content(value: object, index: int) -> str:
    """Message content as text: a string, a list of text parts, or nothing (a tool-call turn)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts = [p.get("text") for p in value if isinstance(p, dict) and p.get("type") == "text"]
        return "\n".join(p for p in parts if isinstance(p, str))
    raise ApiError(400, "content must be a string or a list of parts", param=f"messages[{index}].content")


def _messages(value: object) -> list[ChatMessage]:
    if not isinstance(value, list) or not value:
        raise ApiError(400, "messages must be a non-empty list", param="messages")
    messages: list[ChatMessage] = []
    for index, item in enumerate(value):
        if not isinstance(item, dict) or item.get("role") not in _ROLES:
            raise ApiError(
                400, f"each message needs a role among {sorted(_ROLES)}", param=f"messages[{index}].role"
            )
        messages.append({"role": _ROLES[item["role"]], "content": _content(item.get("content"), index)})
    return messages


def _positive_int(body: dict[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ApiError(400, f"{key} must be a positive integer", param=key)
    return value


def _stop(value: object) -> tuple[str, ...]:
    """OpenAI's ``stop``: one string or a list of up to four."""
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or len(items) > 4 or not all(isinstance(s, str) for s in items):
        raise ApiError(400, "stop must be a string or a list of up to 4 strings", param="stop")
    return tuple(s for s in items if s)


def parse_request(body: object) -> ChatRequest:
    """Validate a decoded JSON body; raise :class:`ApiError` (400) naming the bad field."""
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object")
    temperature = body.get("temperature")
    if temperature is None:
        temperature = 0.0  # greedy unless asked otherwise: a tiny model rambles when it samples
    if isinstance(temperature, bool) or not isinstance(temperature, int | float) or not 0 <= temperature <= 2:
        raise ApiError(400, "temperature must be a number from 0 to 2", param="temperature")
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise ApiError(400, "stream must be a boolean", param="stream")
    options = body.get("stream_options") or {}
    if not isinstance(options, dict):
        raise ApiError(400, "stream_options must be an object", param="stream_options")
    return ChatRequest(
        messages=_messages(body.get("messages")),
        max_tokens=_positive_int(body, "max_completion_tokens") or _positive_int(body, "max_tokens"),
        temperature=float(temperature),
        stream=stream,
        include_usage=bool(options.get("include_usage", False)),
        stop=_stop(body.get("stop")),
    )


@dataclasses.dataclass(frozen=True)
class Completion:
    """Identity of one completion, shared by all its chunks."""

    model: str
    id: str = dataclasses.field(default_factory=lambda: f"chatcmpl-{uuid.uuid4().hex}")
    created: int = dataclasses.field(default_factory=lambda: int(time.time()))

    def _head(self, object_: str) -> dict[str, Any]:
        return {"id": self.id, "object": object_, "created": self.created, "model": self.model}

    def message(self, text: str, finish_reason: str, usage: dict[str, int]) -> dict[str, Any]:
        """The whole ``chat.completion`` of a non-streaming request."""
        choice = {
            "index": 0,
            "message": {"role": "assistant", "content": text},
            "logprobs": None,
            "finish_reason": finish_reason,
        }
        return {**self._head("chat.completion"), "choices": [choice], "usage": usage}

    def chunk(self, delta: dict[str, str], finish_reason: str | None = None) -> dict[str, Any]:
        """One ``chat.completion.chunk`` carrying a delta (and the finish reason on the last one)."""
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return {**self._head("chat.completion.chunk"), "choices": [choice]}

    def usage_chunk(self, usage: dict[str, int]) -> dict[str, Any]:
        """The chunk after the last one when ``stream_options.include_usage`` is set: no choices."""
        return {**self._head("chat.completion.chunk"), "choices": [], "usage": usage}


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    """OpenAI's usage object."""
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def sse(data: dict[str, Any] | str) -> bytes:
    """One server-sent event; ``data`` is a JSON object or a literal such as ``[DONE]``."""
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"data: {text}\n\n".encode()
