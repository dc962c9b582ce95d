"""The Anthropic Messages wire format: a whole message, an event stream, an error.

Pure functions of an :class:`~animas_tools.scripted_llm.script.Answer`, like the OpenAI module.
The stream is the event sequence the Messages API documents (``message_start``, a ``ping``,
then per content block ``content_block_start`` / ``content_block_delta`` / ``content_block_stop``,
then ``message_delta`` with the stop reason and usage, then ``message_stop``), each frame with
both an ``event:`` and a ``data:`` line: the anthropic SDK dispatches on the event name.
"""

from __future__ import annotations

from typing import Any

import msgspec

from animas_tools.scripted_llm.script import Answer, json_pieces, text_pieces

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}


def error_body(status: int, message: str, code: str | None = None) -> dict[str, Any]:
    """Anthropic's error shape: ``{"type": "error", "error": {"type", "message"}}``."""
    kind = _ERROR_TYPES.get(status, "api_error")
    return {"type": "error", "error": {"type": kind, "message": message}}


def _stop_reason(answer: Answer) -> str:
    return "tool_use" if answer.calls else "end_turn"


def _blocks(answer: Answer) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if answer.text or not answer.calls:
        blocks.append({"type": "text", "text": answer.text})
    blocks += [{"type": "tool_use", "id": c.id, "name": c.name, "input": c.input} for c in answer.calls]
    return blocks


def message(answer: Answer) -> dict[str, Any]:
    """A non-streamed ``message`` object."""
    return {
        "id": f"msg_scripted_{answer.number}",
        "type": "message",
        "role": "assistant",
        "model": answer.model,
        "content": _blocks(answer),
        "stop_reason": _stop_reason(answer),
        "stop_sequence": None,
        "usage": {"input_tokens": answer.prompt_tokens, "output_tokens": answer.completion_tokens},
    }


def stream_frames(answer: Answer) -> list[bytes]:
    """The SSE frames of a streamed answer."""
    start = {**message(answer), "content": [], "stop_reason": None}
    start["usage"] = {"input_tokens": answer.prompt_tokens, "output_tokens": 0}
    frames = [event("message_start", {"message": start}), event("ping", {})]
    blocks = _blocks(answer)
    # Each block opens empty and fills through deltas: text in word pieces, tool input as
    # partial JSON (verbatim, so a scripted malformed argument string reaches the client as is).
    arguments = [c.arguments for c in answer.calls]
    for index, block in enumerate(blocks):
        if block["type"] == "text":
            opening: dict[str, Any] = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": piece} for piece in text_pieces(answer.text)]
        else:
            opening = {**block, "input": {}}
            text = arguments[index - (len(blocks) - len(arguments))]
            deltas = [{"type": "input_json_delta", "partial_json": p} for p in json_pieces(text)]
        frames.append(event("content_block_start", {"index": index, "content_block": opening}))
        frames += [event("content_block_delta", {"index": index, "delta": d}) for d in deltas]
        frames.append(event("content_block_stop", {"index": index}))
    delta = {"stop_reason": _stop_reason(answer), "stop_sequence": None}
    frames.append(
        event("message_delta", {"delta": delta, "usage": {"output_tokens": answer.completion_tokens}})
    )
    frames.append(event("message_stop", {}))
    return frames


def event(name: str, data: dict[str, Any]) -> bytes:
    """One server-sent event; ``data`` carries its own ``type`` equal to the event name."""
    payload = msgspec.json.encode({"type": name, **data})
    return b"event: " + name.encode() + b"\ndata: " + payload + b"\n\n"


def stream_error_frame(message: str) -> bytes:
    """What the API sends when it fails after the stream began (e.g. overloaded)."""
    return event("error", {"error": error_body(529, message)["error"]})
