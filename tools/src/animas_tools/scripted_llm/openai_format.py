"""The OpenAI chat-completions wire format: a whole completion, a chunk stream, an error.

Pure functions of an :class:`~animas_tools.scripted_llm.script.Answer`; the server decides when
each frame goes out. The stream follows what api.openai.com sends, so litellm and the openai SDK
take their real streaming code paths: a role chunk, content pieces, tool calls in the indexed
delta format (id and name first, then the arguments in pieces), a finish chunk, a usage chunk
when ``stream_options.include_usage`` asks for one, then ``data: [DONE]``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import msgspec

from animas_tools.scripted_llm.script import Answer, json_pieces, text_pieces

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
}


def error_body(status: int, message: str, code: str | None) -> dict[str, Any]:
    """OpenAI's error shape: ``{"error": {"message", "type", "code"}}``."""
    kind = _ERROR_TYPES.get(status, "server_error" if status >= 500 else "api_error")
    return {"error": {"message": message, "type": kind, "code": code}}


def _finish_reason(answer: Answer) -> str:
    return "tool_calls" if answer.calls else "stop"


def _usage(answer: Answer) -> dict[str, int]:
    return {
        "prompt_tokens": answer.prompt_tokens,
        "completion_tokens": answer.completion_tokens,
        "total_tokens": answer.prompt_tokens + answer.completion_tokens,
    }


def completion(answer: Answer) -> dict[str, Any]:
    """A non-streamed ``chat.completion`` object."""
    message: dict[str, Any] = {"role": "assistant", "content": answer.text}
    if answer.calls:
        # Like the real API: content is null when the model only calls tools.
        message["content"] = answer.text or None
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in answer.calls
        ]
    return {
        "id": f"chatcmpl-scripted-{answer.number}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": answer.model,
        "choices": [{"index": 0, "message": message, "finish_reason": _finish_reason(answer)}],
        "usage": _usage(answer),
    }


def stream_frames(answer: Answer, request: Mapping[str, Any]) -> list[bytes]:
    """The SSE frames of a streamed answer to ``request`` (the decoded request body)."""
    options = request.get("stream_options")
    include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        data: dict[str, Any] = {
            "id": f"chatcmpl-scripted-{answer.number}",
            "object": "chat.completion.chunk",
            "created": created,
            "model": answer.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        if include_usage:
            data["usage"] = None  # the real API marks every chunk but the last this way
        return frame(data)

    frames = [chunk({"role": "assistant", "content": ""})]
    frames += [chunk({"content": piece}) for piece in text_pieces(answer.text)]
    for index, call in enumerate(answer.calls):
        head = {"index": index, "id": call.id, "type": "function"}
        frames.append(chunk({"tool_calls": [{**head, "function": {"name": call.name, "arguments": ""}}]}))
        frames += [
            chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
            for piece in json_pieces(call.arguments)
        ]
    frames.append(chunk({}, _finish_reason(answer)))
    if include_usage:
        last = {
            "id": f"chatcmpl-scripted-{answer.number}",
            "object": "chat.completion.chunk",
            "created": created,
            "model": answer.model,
            "choices": [],
            "usage": _usage(answer),
        }
        frames.append(frame(last))
    frames.append(b"data: [DONE]\n\n")
    return frames


def frame(data: Any) -> bytes:
    """One ``data:`` server-sent event."""
    return b"data: " + msgspec.json.encode(data) + b"\n\n"


def stream_error_frame(message: str) -> bytes:
    """What the API sends when it fails after the stream began: an error object as data."""
    return frame(error_body(500, message, "stream_failed"))
