"""Pure decisions of the cycle: which model to call, with what, and the events that record it."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from typing import Any

import msgspec

from animas_agent_runner.ports import Completion, ModelTarget
from animas_contracts import (
    Body,
    CycleFinished,
    CycleStarted,
    CycleStatus,
    LlmCalled,
    MessageReceived,
    ResponseOutcome,
    ResponseSent,
    TokenUsage,
    Trigger,
    derive_id,
)
from animas_core.config import AnimaWorksConfig

PRODUCER = "agent-runner"
LOCAL_SERVER_PLACEHOLDER_KEY = "none"


def cycle_id_for(message_id: str) -> str:
    """The cycle that answers a message has an id derived from it, so a redelivery reuses it."""
    return derive_id(message_id, "cycle")


def reply_id_for(message_id: str) -> str:
    """The reply to a message has an id derived from it: at most one reply can be stored."""
    return derive_id(message_id, "reply")


def llm_call_id(cycle_id: str, attempt: int, ordinal: int) -> str:
    """Each delivery attempt records its own calls; the same attempt's repeat is dropped."""
    return derive_id(cycle_id, "llm", attempt, ordinal)


NO_MODEL = "no model configured"


def configuration_guidance(anima: str, config_path: str, reason: str = NO_MODEL) -> str:
    """What to tell a sender when the anima has no usable model."""
    opening = (
        f"No model is configured for anima '{anima}', so it cannot answer yet. "
        if reason == NO_MODEL
        else f"Anima '{anima}' cannot answer yet: {reason}. "
    )
    return opening + (
        f"To configure a model, edit {config_path}: "
        'set "anima_defaults": {"model": ..., "credential": ...} '
        f'(or "animas": {{"{anima}": {{"model": ...}}}} for this anima only) and add the credential under '
        '"credentials", for example '
        '"credentials": {"openai": {"api_key": "sk-...", "base_url": null}} '
        'with "model": "openai/gpt-4o-mini", '
        'or a local OpenAI-compatible server: "credentials": {"local": {"api_key": "none", '
        '"base_url": "http://127.0.0.1:11434/v1"}} with "model": "openai/llama3.2". '
        "An API key may also come from the environment as ANIMAWORKS_CREDENTIAL_<NAME>_API_KEY. "
        "Then send the message again."
    )


@dataclasses.dataclass(frozen=True)
class NoModel:
    """The anima has no usable model; answer with guidance instead of calling one."""

    reason: str


def resolve_target(
    config: AnimaWorksConfig, anima: str, status: Mapping[str, Any] | None = None
) -> ModelTarget | NoModel:
    """The model an anima calls (defaults < its status.json < config overrides), or why there is none."""
    settings = config.anima(anima, status)
    if not settings.model:
        return NoModel(NO_MODEL)
    credential = config.credential(settings.credential)
    if settings.credential and credential is None:
        return NoModel(f"credential {settings.credential!r} is not configured")
    api_key = credential.api_key.get_secret_value() if credential and credential.api_key else None
    if api_key is None and credential is not None and credential.base_url:
        # Local OpenAI-compatible servers (Ollama, llama.cpp, vLLM) ignore the key, but the
        # OpenAI client refuses to send a request without one.
        api_key = LOCAL_SERVER_PLACEHOLDER_KEY
    return ModelTarget(
        model=settings.model,
        api_base=credential.base_url if credential else None,
        api_key=api_key,
        max_tokens=settings.max_tokens,
    )


def build_messages(message: MessageReceived, recalled: str = "") -> list[dict[str, Any]]:
    """The prompt for a reply, with what priming recalled. The full system prompt comes with #5."""
    system = (
        f"You are {message.anima}, an anima: a persistent member of an organization. "
        "Answer the message you receive in your own words."
    )
    if recalled:
        system += "\n\n# What you remember (recalled for this message)\n\n" + recalled
    return [
        {"role": "system", "content": system},
        {"role": "user", "content": f"[{message.sender}] {message.text}"},
    ]


def request_body(target: ModelTarget, messages: list[dict[str, Any]]) -> dict[str, Any]:
    """What is recorded of a request: never the key, never the endpoint's credentials."""
    return {"model": target.model, "messages": messages, "max_tokens": target.max_tokens}


def body_of(payload: Any, inline_limit: int) -> tuple[Body, bytes | None]:
    """A Body for ``payload``; the bytes to store by reference when it is over the limit."""
    encoded = msgspec.json.encode(payload)
    digest = "sha256:" + hashlib.sha256(encoded).hexdigest()
    if len(encoded) <= inline_limit:
        return Body(size=len(encoded), digest=digest, inline=payload), None
    return Body(size=len(encoded), digest=digest, stored=True), encoded


def cycle_started(message: MessageReceived, target: ModelTarget | NoModel) -> CycleStarted:
    """The event that opens the cycle answering ``message``."""
    return CycleStarted(
        id=cycle_id_for(message.id),
        anima=message.anima,
        correlation_id=message.correlation_id,
        causation_id=message.id,
        producer=PRODUCER,
        trigger=Trigger.MESSAGE,
        trigger_event_id=message.id,
        model=target.model if isinstance(target, ModelTarget) else None,
    )


def llm_called(
    message: MessageReceived,
    *,
    attempt: int,
    ordinal: int,
    target: ModelTarget,
    request: Body,
    response: Body | None,
    completion: Completion | None,
    latency_ms: float,
    error: str | None,
) -> LlmCalled:
    """The record of one model call."""
    cycle_id = cycle_id_for(message.id)
    usage = (
        TokenUsage(
            prompt_tokens=completion.prompt_tokens,
            completion_tokens=completion.completion_tokens,
            total_tokens=completion.prompt_tokens + completion.completion_tokens,
        )
        if completion
        else TokenUsage()
    )
    return LlmCalled(
        id=llm_call_id(cycle_id, attempt, ordinal),
        anima=message.anima,
        correlation_id=message.correlation_id,
        causation_id=cycle_id,
        producer=PRODUCER,
        cycle_id=cycle_id,
        ordinal=ordinal,
        model=target.model,
        request=request,
        response=response,
        usage=usage,
        latency_ms=latency_ms,
        error=error,
    )


def response_sent(
    message: MessageReceived, text: str, outcome: ResponseOutcome, model: str | None
) -> ResponseSent:
    """The reply to ``message`` (its id is derived, so it is stored once)."""
    return ResponseSent(
        id=reply_id_for(message.id),
        anima=message.anima,
        correlation_id=message.correlation_id,
        causation_id=cycle_id_for(message.id),
        producer=PRODUCER,
        text=text,
        in_reply_to=message.id,
        to=message.sender,
        thread_id=message.thread_id,
        outcome=outcome,
        model=model,
    )


def cycle_finished(
    message: MessageReceived, status: CycleStatus, duration_ms: float, error: str | None = None
) -> CycleFinished:
    """The event that closes the cycle."""
    cycle_id = cycle_id_for(message.id)
    return CycleFinished(
        id=derive_id(cycle_id, "finished"),
        anima=message.anima,
        correlation_id=message.correlation_id,
        causation_id=cycle_id,
        producer=PRODUCER,
        cycle_id=cycle_id,
        status=status,
        duration_ms=duration_ms,
        error=error,
    )


def failure_reply(error: str, attempts: int) -> str:
    """What the sender reads when the model could not answer."""
    return (
        f"I could not get an answer from my model after {attempts} attempt(s): {error}. "
        "Check the model and credential settings in config.json, or try again later."
    )
