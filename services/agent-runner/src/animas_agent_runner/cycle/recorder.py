"""Records a cycle as it runs: model output as delta events, every model call as ``llm.called``."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from animas_agent_runner import domain
from animas_agent_runner.ports import (
    BodyStore,
    ModelCallFailed,
    ModelTarget,
    ToolCall,
    ToolResult,
    ToolRunner,
    ToolSpec,
    TurnRequest,
    TurnResult,
)
from animas_contracts import DeltaKind, LlmCalled, ModelDelta, TokenUsage, derive_id
from animas_core.broker import EventSink

FLUSH_CHARS = 200
"""Deltas are batched: one event per this many characters…"""
FLUSH_INTERVAL_S = 0.1
"""…or per this much time, whichever comes first, so a reader sees text promptly."""


@dataclasses.dataclass(frozen=True)
class CycleRef:
    """Which cycle the records belong to."""

    anima: str
    cycle_id: str
    correlation_id: str
    in_reply_to: str | None
    attempt: int


class CycleRecorder:
    """Implements :class:`~animas_agent_runner.ports.TurnRecorder` for one delivery of one cycle.

    Delta ids carry the attempt, so a retried cycle streams afresh instead of colliding with the
    pieces the failed attempt left in the journal.
    """

    def __init__(self, ref: CycleRef, publisher: EventSink, bodies: BodyStore, inline_limit: int) -> None:
        self._ref = ref
        self._publisher = publisher
        self._bodies = bodies
        self._inline_limit = inline_limit
        self._buffer: list[str] = []
        self._buffered = 0
        self._last_flush = time.monotonic()
        self._seq = 0
        self._calls = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.purpose = "turn"
        """What the next model calls are for; a replay re-runs only the ``turn`` calls."""

    async def on_text(self, text: str) -> None:
        if not text:
            return
        self._buffer.append(text)
        self._buffered += len(text)
        if self._buffered >= FLUSH_CHARS or time.monotonic() - self._last_flush >= FLUSH_INTERVAL_S:
            await self.flush()

    async def flush(self) -> None:
        """Publish what is buffered as one delta."""
        if self._buffer:
            text = "".join(self._buffer)
            self._buffer.clear()
            self._buffered = 0
            await self._delta(DeltaKind.TEXT, text)
        self._last_flush = time.monotonic()

    async def tool_boundary(self, kind: DeltaKind, tool: str) -> None:
        """A tool call starts or ends: readers of the stream see what the anima is doing."""
        await self.flush()
        await self._delta(kind, tool)

    async def finish(self) -> None:
        """The output is complete."""
        await self.flush()
        await self._delta(DeltaKind.DONE, "")

    async def model_called(
        self,
        *,
        target: ModelTarget,
        request: TurnRequest,
        result: TurnResult | None,
        error: ModelCallFailed | None,
        latency_ms: float,
    ) -> None:
        await self.flush()
        ordinal = self._calls
        self._calls += 1
        wire_request: Any = result.raw_request if result else domain.neutral_request(target, request)
        request_body = await self._body(wire_request)
        response_body = await self._body(result.raw_response) if result else None
        usage = TokenUsage()
        if result:
            self.prompt_tokens += result.prompt_tokens
            self.completion_tokens += result.completion_tokens
            usage = TokenUsage(
                prompt_tokens=result.prompt_tokens,
                completion_tokens=result.completion_tokens,
                total_tokens=result.prompt_tokens + result.completion_tokens,
            )
        ref = self._ref
        await self._publisher.publish(
            LlmCalled(
                id=domain.llm_call_id(ref.cycle_id, ref.attempt, ordinal),
                anima=ref.anima,
                correlation_id=ref.correlation_id,
                causation_id=ref.cycle_id,
                producer=domain.PRODUCER,
                cycle_id=ref.cycle_id,
                ordinal=ordinal,
                model=target.model,
                request=request_body,
                response=response_body,
                usage=usage,
                latency_ms=latency_ms,
                error=str(error) if error else None,
                attempt=ref.attempt,
                turn=domain.recorded_turn(result) if result else None,
                purpose=self.purpose,
            )
        )

    async def _body(self, payload: Any) -> Any:
        body, stored = domain.body_of(payload, self._inline_limit)
        if stored is not None:
            await self._bodies.put(body.digest, stored)
        return body

    async def _delta(self, kind: DeltaKind, text: str) -> None:
        ref = self._ref
        seq = self._seq
        self._seq += 1
        await self._publisher.publish(
            ModelDelta(
                id=derive_id(ref.cycle_id, "delta", ref.attempt, seq),
                anima=ref.anima,
                correlation_id=ref.correlation_id,
                causation_id=ref.cycle_id,
                producer=domain.PRODUCER,
                cycle_id=ref.cycle_id,
                in_reply_to=ref.in_reply_to,
                seq=seq,
                kind=kind,
                text=text,
                attempt=ref.attempt,
            )
        )


class StreamedTools:
    """A :class:`~animas_agent_runner.ports.ToolRunner` that marks each call in the delta stream."""

    def __init__(self, inner: ToolRunner, recorder: CycleRecorder) -> None:
        self._inner = inner
        self._recorder = recorder

    def specs(self) -> tuple[ToolSpec, ...]:
        """The inner surface's tools."""
        return self._inner.specs()

    async def run(self, call: ToolCall) -> ToolResult:
        """Run the call between a ``tool_start`` and a ``tool_end`` delta."""
        await self._recorder.tool_boundary(DeltaKind.TOOL_START, call.name)
        result = await self._inner.run(call)
        await self._recorder.tool_boundary(DeltaKind.TOOL_END, call.name)
        return result
