"""A recorded model call of a consolidation run: asked, and recorded as ``llm.called`` either way.

Large request and response bodies go to the object store by digest; the record keeps the
answer text, so a replay can reuse it offline.
"""

from __future__ import annotations

import time
from typing import Any

from animas_consolidator.domain.model_choice import ModelTarget
from animas_consolidator.domain.records import ModelCall, RunRef, body_of, llm_called
from animas_consolidator.ports import ModelCallFailed
from animas_consolidator.run_frame import RunPorts
from animas_contracts import Body, TokenUsage

BODY_INLINE_LIMIT = 64 * 1024


async def ask_recorded(
    p: RunPorts, ref: RunRef, target: ModelTarget, messages: list[dict[str, str]], attempt: int
) -> tuple[str | None, str | None]:
    """The model's answer text, or None and why there is none; the call is recorded either way."""
    began = time.monotonic()
    try:
        answer = await p.model.ask(target, messages)
    except ModelCallFailed as exc:
        request = await _body(p, {"model": target.model, "messages": messages})
        call = ModelCall(target.model, request, None, None, TokenUsage(), _ms(began), str(exc))
        await p.publisher.publish(llm_called(ref, call, attempt))
        return None, f"the model failed: {exc}"
    request = await _body(p, answer.raw_request)
    response = await _body(p, answer.raw_response)
    call = ModelCall(answer.model, request, response, answer.text, answer.usage, _ms(began), None)
    await p.publisher.publish(llm_called(ref, call, attempt))
    return answer.text, None


async def recorded_body(p: RunPorts, payload: Any) -> Body:
    """``payload`` as a Body: inline when small, else stored in the object store by digest."""
    return await _body(p, payload)


async def _body(p: RunPorts, payload: Any) -> Body:
    body, stored = body_of(payload, BODY_INLINE_LIMIT)
    if stored is not None:
        await p.bodies.put(body.digest, stored)
    return body


def _ms(began: float) -> float:
    return round((time.monotonic() - began) * 1000, 1)
