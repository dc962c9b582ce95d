"""The litellm adapter: any provider litellm supports, in the OpenAI chat-completions format.

Turns stream (``stream=True``) so the cycle can pass text on while the model is still writing;
the tool calls arrive as indexed deltas and are put together here. litellm's own retries are
off everywhere: a failed message is redelivered, and the fallback model is the cycle's choice.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from animas_agent_runner.adapters.model_info import litellm_module
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


class LiteLLMTurnModel:
    """One streamed model turn through ``litellm.acompletion`` (the :class:`TurnModel` port)."""

    def __init__(self, timeout_s: float) -> None:
        self._timeout_s = timeout_s

    async def turn(self, target: ModelTarget, request: TurnRequest, on_text: TextSink) -> TurnResult:
        body = openai_body(target.model, request)
        # litellm is imported on the first turn, in a thread (seconds of CPU; see model_info).
        litellm = await asyncio.to_thread(litellm_module)
        try:
            stream = await litellm.acompletion(
                **body,
                api_base=target.api_base,
                api_key=target.api_key,
                timeout=self._timeout_s,
                num_retries=0,
            )
        except Exception as exc:
            raise _failed(exc) from exc
        assembly = _Assembly(target.model)
        chunks = aiter(stream)
        try:
            while True:
                try:
                    chunk = await anext(chunks)
                except StopAsyncIteration:
                    break
                except Exception as exc:
                    # Part of the answer is out already; asking again later is the only remedy.
                    raise ModelCallFailed(_short(exc), transient=True) from exc
                # Outside the inner try: a failing sink is the caller's error, not the model's.
                for piece in assembly.add(chunk):
                    await on_text(piece)
        finally:
            # Hands the connection back when the sink gave up early (a no-op after the end).
            await stream.aclose()
        return assembly.result(body)


def openai_body(model: str, request: TurnRequest) -> dict[str, Any]:
    """The chat-completions request for ``request`` (no credentials: it is recorded as sent)."""
    messages: list[dict[str, Any]] = [{"role": "system", "content": request.system}] if request.system else []
    for item in request.conversation:
        if isinstance(item, UserTurn):
            messages.append({"role": "user", "content": item.text})
        elif isinstance(item, AssistantTurn):
            # Content may be null only beside tool calls; an empty answer stays an empty string.
            content = item.text if item.text or not item.tool_calls else None
            message: dict[str, Any] = {"role": "assistant", "content": content}
            if item.tool_calls:
                message["tool_calls"] = [
                    {
                        "id": call.id,
                        "type": "function",
                        "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
                    }
                    for call in item.tool_calls
                ]
            messages.append(message)
        elif isinstance(item, ToolResult):
            # The format has no error flag; the content itself says what went wrong.
            messages.append({"role": "tool", "tool_call_id": item.call_id, "content": item.content})
    body: dict[str, Any] = {"model": model, "messages": messages, "max_tokens": request.max_tokens}
    if request.tools:
        body["tools"] = [
            {
                "type": "function",
                "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
            }
            for t in request.tools
        ]
    body["stream"] = True
    body["stream_options"] = {"include_usage": True}
    return body


class _Assembly:
    """Puts a streamed answer back together: text, tool calls by index, finish reason, usage."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.id: str | None = None
        self.text: list[str] = []
        self.calls: dict[int, dict[str, str]] = {}
        self.finish_reason = ""
        self.usage: dict[str, int] = {}

    def add(self, chunk: Any) -> list[str]:
        """Take one chunk in; returns its text pieces for the sink."""
        self.id = self.id or getattr(chunk, "id", None)
        self.model = getattr(chunk, "model", None) or self.model
        usage = getattr(chunk, "usage", None)
        if usage is not None:
            self.usage = {
                "prompt_tokens": int(getattr(usage, "prompt_tokens", 0) or 0),
                "completion_tokens": int(getattr(usage, "completion_tokens", 0) or 0),
            }
        pieces: list[str] = []
        for choice in getattr(chunk, "choices", None) or ():
            self.finish_reason = choice.finish_reason or self.finish_reason
            delta = choice.delta
            if delta is None:
                continue
            if delta.content:
                pieces.append(delta.content)
            for part in getattr(delta, "tool_calls", None) or ():
                call = self.calls.setdefault(part.index or 0, {"id": "", "name": "", "arguments": ""})
                call["id"] = part.id or call["id"]
                function = part.function
                if function is not None:
                    call["name"] = function.name or call["name"]
                    call["arguments"] += function.arguments or ""
        self.text += pieces
        return pieces

    def result(self, body: dict[str, Any]) -> TurnResult:
        calls = [self.calls[i] for i in sorted(self.calls)]
        raw_response = {
            "id": self.id,
            "model": self.model,
            "text": "".join(self.text),
            "tool_calls": calls,
            "finish_reason": self.finish_reason,
            "usage": self.usage,
        }
        return TurnResult(
            text="".join(self.text),
            tool_calls=tuple(_tool_call(c["id"], c["name"], c["arguments"]) for c in calls),
            model=self.model,
            prompt_tokens=self.usage.get("prompt_tokens", 0),
            completion_tokens=self.usage.get("completion_tokens", 0),
            stop_reason=self.finish_reason,
            raw_request=body,
            raw_response=raw_response,
        )


def _tool_call(call_id: str, name: str, arguments: str) -> ToolCall:
    """A tool call; arguments that are not a JSON object become an error the model is told about."""
    try:
        parsed = json.loads(arguments) if arguments.strip() else {}
    except json.JSONDecodeError as exc:
        return ToolCall(call_id, name, {}, f"arguments are not valid JSON ({exc.msg}): {arguments[:200]}")
    if not isinstance(parsed, dict):
        return ToolCall(call_id, name, {}, f"arguments must be a JSON object, got {type(parsed).__name__}")
    return ToolCall(call_id, name, parsed)


def _failed(exc: Exception) -> ModelCallFailed:
    errors = litellm_module().exceptions
    # Failures where the same request cannot succeed later: report them to the sender at once.
    permanent: tuple[type[Exception], ...] = (
        errors.AuthenticationError,
        errors.BadRequestError,
        errors.NotFoundError,
        errors.PermissionDeniedError,
        errors.UnprocessableEntityError,
    )
    return ModelCallFailed(_short(exc), transient=not isinstance(exc, permanent))


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"{type(exc).__name__}: {text[:500]}"
