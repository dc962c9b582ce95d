"""The Anthropic adapter: Claude through the official SDK and the Messages API.

It streams with ``messages.create(stream=True)`` and puts the message together itself rather
than using ``messages.stream()``: that helper parses tool input JSON as it arrives and raises
``ValueError`` mid-stream when the model writes malformed JSON, whereas this port must answer
such a call with ``arguments_error`` (the model is told and can try again). SDK retries are off:
a failed message is redelivered, and the fallback model is the cycle's choice.
"""

from __future__ import annotations

import asyncio
import functools
import json
from types import ModuleType
from typing import TYPE_CHECKING, Any

from animas_agent_runner.ports import (
    AssistantTurn,
    ModelCallFailed,
    ModelTarget,
    TextSink,
    ToolCall,
    ToolResult,
    TurnRequest,
    TurnResult,
    UserTurn,
)

if TYPE_CHECKING:
    import anthropic


@functools.cache
def _sdk() -> ModuleType:
    """The anthropic SDK, imported on the first Claude turn rather than when agent-runner starts.

    Its import costs ~1.5 s of CPU, and most systems (every e2e test's but one) never call Claude.
    """
    import anthropic

    return anthropic


def _permanent() -> tuple[type[Exception], ...]:
    """Failures where the same request cannot succeed later: reported to the sender at once."""
    sdk = _sdk()
    return (
        sdk.AuthenticationError,
        sdk.PermissionDeniedError,
        sdk.NotFoundError,
        sdk.BadRequestError,
        sdk.UnprocessableEntityError,
    )


class AnthropicTurnModel:
    """One streamed model turn through the anthropic SDK (the :class:`TurnModel` port)."""

    def __init__(self, timeout_s: float) -> None:
        self._timeout_s = timeout_s
        # One client per endpoint and key, so connections are pooled across turns.
        self._clients: dict[tuple[str | None, str | None], anthropic.AsyncAnthropic] = {}

    def _client(self, target: ModelTarget) -> anthropic.AsyncAnthropic:
        key = (target.api_base, target.api_key)
        client = self._clients.get(key)
        if client is None:
            client = _sdk().AsyncAnthropic(
                api_key=target.api_key, base_url=target.api_base, max_retries=0, timeout=self._timeout_s
            )
            self._clients[key] = client
        return client

    async def aclose(self) -> None:
        """Close the pooled clients (at shutdown)."""
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.close()

    async def turn(self, target: ModelTarget, request: TurnRequest, on_text: TextSink) -> TurnResult:
        body = anthropic_body(target.model, request)
        # In a thread the first time: the import takes a second or two of CPU.
        sdk = await asyncio.to_thread(_sdk)
        try:
            stream = await self._client(target).messages.create(
                model=body["model"],
                max_tokens=body["max_tokens"],
                messages=body["messages"],
                system=body.get("system", sdk.omit),
                tools=body.get("tools", sdk.omit),
                stream=True,
            )
        except Exception as exc:
            raise ModelCallFailed(_short(exc), transient=not isinstance(exc, _permanent())) from exc
        assembly = _Assembly(body["model"])
        async with stream:
            events = aiter(stream)
            while True:
                try:
                    event = await anext(events)
                except StopAsyncIteration:
                    break
                except Exception as exc:
                    # Part of the answer is out already; asking again later is the only remedy.
                    raise ModelCallFailed(_short(exc), transient=True) from exc
                # Outside the try: a failing sink is the caller's error, not the model's.
                piece = assembly.add(event)
                if piece:
                    await on_text(piece)
        return assembly.result(body)


def model_name(model: str) -> str:
    """The API's model name: config names follow litellm (``anthropic/claude-…``) or are bare."""
    return model.removeprefix("anthropic/")


def anthropic_body(model: str, request: TurnRequest) -> dict[str, Any]:
    """The Messages request for ``request`` (no credentials: it is recorded as sent)."""
    messages: list[dict[str, Any]] = []

    def add(role: str, blocks: list[dict[str, Any]]) -> None:
        # Consecutive messages of one role merge: tool results, then any user text, in one turn.
        if messages and messages[-1]["role"] == role:
            messages[-1]["content"].extend(blocks)
        elif blocks:
            messages.append({"role": role, "content": blocks})

    for item in request.conversation:
        if isinstance(item, UserTurn):
            add("user", [{"type": "text", "text": item.text}])
        elif isinstance(item, AssistantTurn):
            # The API refuses empty text blocks; an assistant turn with nothing in it is left out.
            blocks: list[dict[str, Any]] = [{"type": "text", "text": item.text}] if item.text else []
            blocks += [
                {"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments}
                for c in item.tool_calls
            ]
            add("assistant", blocks)
        elif isinstance(item, ToolResult):
            result: dict[str, Any] = {
                "type": "tool_result",
                "tool_use_id": item.call_id,
                "content": item.content,
            }
            if item.is_error:
                result["is_error"] = True
            add("user", [result])
    body: dict[str, Any] = {
        "model": model_name(model),
        "max_tokens": request.max_tokens,
        "messages": messages,
    }
    if request.system:
        body["system"] = request.system
    if request.tools:
        body["tools"] = [
            {"name": t.name, "description": t.description, "input_schema": t.parameters}
            for t in request.tools
        ]
    body["stream"] = True
    return body


class _Assembly:
    """Puts a streamed message back together from its raw events."""

    def __init__(self, model: str) -> None:
        self.message: dict[str, Any] = {"id": None, "model": model, "stop_reason": ""}
        self.blocks: dict[int, dict[str, Any]] = {}
        self.json: dict[int, str] = {}
        self.usage = {"input_tokens": 0, "output_tokens": 0}

    def add(self, event: Any) -> str:
        """Take one event in; returns its text, if it carries any, for the sink."""
        if event.type == "message_start":
            self.message["id"] = event.message.id
            self.message["model"] = event.message.model or self.message["model"]
            self._usage(event.message.usage)
        elif event.type == "content_block_start":
            block = self.blocks[event.index] = event.content_block.model_dump(mode="json", exclude_none=True)
            if block.get("type") == "text":
                return str(block.get("text") or "")  # the API opens text blocks empty, but may not
        elif event.type == "content_block_delta":
            block, delta = self.blocks.get(event.index), event.delta
            if block is not None and delta.type == "text_delta" and block.get("type") == "text":
                block["text"] = block.get("text", "") + delta.text
                return str(delta.text)
            if delta.type == "input_json_delta":
                self.json[event.index] = self.json.get(event.index, "") + delta.partial_json
        elif event.type == "message_delta":
            self.message["stop_reason"] = event.delta.stop_reason or self.message["stop_reason"]
            self._usage(event.usage)
        return ""

    def _usage(self, usage: Any) -> None:
        # Counts on message_delta are cumulative and optional ones may be absent: overwrite
        # what is present. Cached input counts as input: it filled the context all the same.
        inputs = [getattr(usage, name, None) for name in ("input_tokens", "cache_creation_input_tokens")]
        inputs.append(getattr(usage, "cache_read_input_tokens", None))
        if any(n is not None for n in inputs):
            self.usage["input_tokens"] = sum(n or 0 for n in inputs)
        if getattr(usage, "output_tokens", None) is not None:
            self.usage["output_tokens"] = int(usage.output_tokens)

    def result(self, body: dict[str, Any]) -> TurnResult:
        content, calls = [], []
        for index in sorted(self.blocks):
            block = self.blocks[index]
            if block.get("type") == "tool_use":
                call = _tool_call(block["id"], block["name"], self.json.get(index), block.get("input"))
                calls.append(call)
                block["input"] = call.arguments if call.arguments_error is None else self.json.get(index)
            content.append(block)
        text = "".join(b.get("text", "") for b in content if b.get("type") == "text")
        raw = {
            "type": "message",
            "role": "assistant",
            **self.message,
            "content": content,
            "usage": self.usage,
        }
        return TurnResult(
            text=text,
            tool_calls=tuple(calls),
            model=str(self.message["model"]),
            prompt_tokens=self.usage["input_tokens"],
            completion_tokens=self.usage["output_tokens"],
            stop_reason=str(self.message["stop_reason"]),
            raw_request=body,
            raw_response=raw,
        )


def _tool_call(call_id: str, name: str, streamed: str | None, start: Any) -> ToolCall:
    """A tool call; input that is not a JSON object becomes an error the model is told about."""
    if streamed is None or not streamed.strip():
        # Nothing streamed: the input came whole with content_block_start (or is empty).
        parsed: Any = start if start is not None else {}
    else:
        try:
            parsed = json.loads(streamed)
        except json.JSONDecodeError as exc:
            return ToolCall(call_id, name, {}, f"input is not valid JSON ({exc.msg}): {streamed[:200]}")
    if not isinstance(parsed, dict):
        return ToolCall(call_id, name, {}, f"input must be a JSON object, got {type(parsed).__name__}")
    return ToolCall(call_id, name, parsed)


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"{type(exc).__name__}: {text[:500]}"
