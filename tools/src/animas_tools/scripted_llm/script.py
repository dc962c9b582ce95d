"""The script: what each turn answers, and the wire-neutral answer the formats render.

A :class:`Turn` is what a test writes; an :class:`Answer` is that turn resolved for one request
(numbered, tool-call ids assigned, token counts filled in), so the OpenAI and Anthropic renderers
are pure functions of it and the same script queue can serve both formats.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any

import msgspec

_NonNegative = Annotated[float, msgspec.Meta(ge=0)]
_Count = Annotated[int, msgspec.Meta(ge=0)]


class ScriptedToolCall(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One tool call the scripted model makes.

    Attributes:
        name: The tool's name.
        arguments: A dict is sent as JSON; a str is sent verbatim, so a test can send malformed JSON.
        id: The call's id; ``None`` numbers it ``call_<n>`` (n counts tool calls served by the server).
    """

    name: str
    arguments: dict[str, Any] | str = msgspec.field(default_factory=dict)
    id: str | None = None


class Turn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One scripted reply.

    Attributes:
        text: The assistant message content.
        tool_calls: Tool calls after the text (OpenAI finish_reason "tool_calls", Anthropic "tool_use").
        delay_s: Seconds to wait before answering.
        chunk_delay_s: Seconds between streamed events, so a test can watch pieces arrive.
        hold: Block the request until :meth:`ScriptedLLM.release` or the hold timeout.
        status: HTTP status; anything but 200 answers with an error in the request's format.
        error: Message of that error (and of a mid-stream failure).
        fail_after_events: When streaming, send an in-stream error event after this many events
            and end the stream (a provider failing mid-answer).
        prompt_tokens: Reported prompt tokens; ``None`` counts the request's words.
        completion_tokens: Reported completion tokens; ``None`` counts the words of ``text`` and
            of the tool calls' arguments.
        match: When set, only a request whose body (as JSON) contains this text takes the turn;
            turns are otherwise taken in order, so several animas calling at once each get
            their own answer.
    """

    text: str = ""
    tool_calls: Sequence[ScriptedToolCall] = ()
    delay_s: _NonNegative = 0.0
    chunk_delay_s: _NonNegative = 0.0
    hold: bool = False
    status: Annotated[int, msgspec.Meta(ge=200, le=599)] = 200
    error: str = ""
    fail_after_events: _Count | None = None
    prompt_tokens: _Count | None = None
    completion_tokens: _Count | None = None
    match: str | None = None

    def matches(self, body_text: str) -> bool:
        """Whether a request whose body serialises to ``body_text`` may take this turn."""
        return self.match is None or self.match in body_text


def to_turns(turns: Iterable[Turn | Mapping[str, Any]]) -> tuple[Turn, ...]:
    """Validate turns given as :class:`Turn` or plain dicts (e.g. decoded JSON).

    Raises:
        msgspec.ValidationError: A dict has an unknown field or a badly typed value.
    """
    return tuple(t if isinstance(t, Turn) else msgspec.convert(t, Turn) for t in turns)


@dataclasses.dataclass(frozen=True)
class CallOut:
    """A tool call as it goes on the wire: ``arguments`` is the exact JSON text sent."""

    id: str
    name: str
    arguments: str
    input: Any
    """The value of Anthropic's ``tool_use.input``: the dict, or the verbatim string."""


@dataclasses.dataclass(frozen=True)
class Answer:
    """One turn resolved for one request: everything a format needs to render it."""

    number: int
    model: str
    text: str
    calls: tuple[CallOut, ...]
    prompt_tokens: int
    completion_tokens: int


def resolve(turn: Turn, number: int, first_call: int, body: Mapping[str, Any]) -> Answer:
    """Resolve ``turn`` as the ``number``-th answer; unnamed calls are numbered from ``first_call``."""
    calls = tuple(
        CallOut(
            id=call.id or f"call_{first_call + i}",
            name=call.name,
            arguments=call.arguments
            if isinstance(call.arguments, str)
            else msgspec.json.encode(call.arguments).decode(),
            input=call.arguments,
        )
        for i, call in enumerate(turn.tool_calls)
    )
    prompt = turn.prompt_tokens
    if prompt is None:
        prompt = count_words(body.get("messages")) + count_words(body.get("system"))
    completion = turn.completion_tokens
    if completion is None:
        completion = len(turn.text.split()) + sum(len(c.arguments.split()) for c in calls)
    return Answer(
        number=number,
        model=str(body.get("model", "scripted")),
        text=turn.text,
        calls=calls,
        prompt_tokens=prompt,
        completion_tokens=completion,
    )


def count_words(value: Any) -> int:
    """Whitespace-separated words in the text of messages, content parts or a system prompt.

    A deterministic stand-in for a tokenizer, so tests can predict usage without tiktoken or a
    model vocabulary. It reads strings, ``text`` and ``content`` fields, in lists and dicts, which
    covers both OpenAI messages and Anthropic blocks (tool results included).
    """
    if isinstance(value, str):
        return len(value.split())
    if isinstance(value, list):
        return sum(count_words(item) for item in value)
    if isinstance(value, dict):
        return count_words(value.get("text")) + count_words(value.get("content"))
    return 0


def text_pieces(text: str) -> list[str]:
    """Split text into word-sized pieces whose concatenation is exactly ``text``."""
    return [piece for piece in re.split(r"(?<=\s)(?=\S)", text) if piece]


def json_pieces(arguments: str, size: int = 8) -> list[str]:
    """Split argument text into fixed-size pieces, the way providers stream partial JSON."""
    return [arguments[i : i + size] for i in range(0, len(arguments), size)]


class ScriptError(Exception):
    """Raised while answering to reply with an HTTP error, in the format of the request."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code
