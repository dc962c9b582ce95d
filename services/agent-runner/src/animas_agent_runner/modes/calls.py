"""One model turn with the fallback rule, shared by every mode."""

from __future__ import annotations

import dataclasses
import time

from animas_agent_runner.ports import (
    ModelCallFailed,
    ModelTarget,
    TurnModel,
    TurnRecorder,
    TurnRequest,
    TurnResult,
)


@dataclasses.dataclass(frozen=True)
class Candidate:
    """A model the cycle may call, and the client that speaks its provider's format."""

    model: TurnModel
    target: ModelTarget


class ModelChain:
    """The primary model, then the fallback model once the primary has failed.

    After a failure the cycle stays on the fallback: switching back mid-cycle would hand a
    conversation between two models for no gain. When every candidate fails, the last error is
    raised; it is transient if any failure was, so the message is tried again later.
    """

    def __init__(self, candidates: tuple[Candidate, ...], recorder: TurnRecorder) -> None:
        if not candidates:
            raise ValueError("a cycle needs at least one model")
        self._candidates = candidates
        self._current = 0
        self._recorder = recorder

    @property
    def targets(self) -> tuple[ModelTarget, ...]:
        """The primary model, then the fallback, if any."""
        return tuple(c.target for c in self._candidates)

    @property
    def recorder(self) -> TurnRecorder:
        """Where the chain's calls are recorded (a mode whose calls a proxy makes records there)."""
        return self._recorder

    @property
    def model_name(self) -> str:
        """The model answering now."""
        return self._candidates[self._current].target.model

    async def say(self, text: str) -> None:
        """Pass text on to the stream as if the model had written it (a mode's final words)."""
        await self._recorder.on_text(text)

    async def turn(self, request: TurnRequest, *, stream: bool = True) -> TurnResult:
        """One turn on the current model, moving to the fallback when it fails.

        With ``stream`` off the model's raw output is not passed on (assisted mode streams JSON
        that only the framework should read; it says the parsed reply with :meth:`say`).
        """
        on_text = self._recorder.on_text if stream else _discard
        transient = False
        while True:
            candidate = self._candidates[self._current]
            began = time.monotonic()
            try:
                result = await candidate.model.turn(candidate.target, request, on_text)
            except ModelCallFailed as exc:
                await self._recorder.model_called(
                    target=candidate.target,
                    request=request,
                    result=None,
                    error=exc,
                    latency_ms=(time.monotonic() - began) * 1000,
                )
                transient = transient or exc.transient
                if self._current + 1 >= len(self._candidates):
                    raise ModelCallFailed(str(exc), transient=transient) from exc
                self._current += 1
                continue
            await self._recorder.model_called(
                target=candidate.target,
                request=request,
                result=result,
                error=None,
                latency_ms=(time.monotonic() - began) * 1000,
            )
            return result


async def _discard(text: str) -> None:
    """A text sink that drops what it gets."""
