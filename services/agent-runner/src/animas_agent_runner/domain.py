"""Pure decisions of the cycle: which model to call, with what, and the events that record it."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from typing import Any

import msgspec

from animas_agent_runner.ports import ModelTarget, ToolCall, TurnRequest, TurnResult
from animas_contracts import (
    Body,
    CycleFinished,
    CycleStarted,
    CycleStatus,
    MessageKind,
    MessageOrigin,
    MessageReceived,
    RecordedToolCall,
    RecordedTurn,
    ResponseOutcome,
    ResponseSent,
    Trigger,
    derive_id,
)
from animas_core.config import AnimaModelConfig, AnimaWorksConfig, ModeName, resolve_mode

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
    return credential_target(config, settings.credential, settings.model, settings.max_tokens)


def credential_target(
    config: AnimaWorksConfig, credential_name: str | None, model: str, max_tokens: int
) -> ModelTarget | NoModel:
    """Where a call of ``model`` with the named credential goes, or why it cannot be made."""
    credential = config.credential(credential_name)
    if credential_name and credential is None:
        return NoModel(f"credential {credential_name!r} is not configured")
    api_key = credential.api_key.get_secret_value() if credential and credential.api_key else None
    if api_key is None and credential is not None and credential.base_url:
        # Local OpenAI-compatible servers (Ollama, llama.cpp, vLLM) ignore the key, but the
        # OpenAI client refuses to send a request without one.
        api_key = LOCAL_SERVER_PLACEHOLDER_KEY
    return ModelTarget(
        model=model,
        api_base=credential.base_url if credential else None,
        api_key=api_key,
        max_tokens=max_tokens,
    )


def client_for(model: str, mode: str) -> str:
    """Which client calls ``model`` in ``mode``: a key of ``CyclePorts.models``.

    The Anthropic SDK serves Claude models in the anthropic mode; litellm serves the rest.
    """
    if mode == "anthropic" and model.startswith(("anthropic/", "claude-")):
        return "anthropic"
    return "litellm"


@dataclasses.dataclass(frozen=True)
class LocalModel:
    """The bundled local model's server (issue #8): the default when no model is configured."""

    base_url: str
    """Its OpenAI-compatible endpoint, e.g. ``http://127.0.0.1:18511/v1``."""
    name: str = "smollm2-135m-instruct"
    context_window: int = 8192
    max_tokens: int = 96
    """Short answers: the model is small and runs on the CPU."""


@dataclasses.dataclass(frozen=True)
class Plan:
    """How a cycle will think: its models, its execution mode and the anima's merged settings."""

    primary: ModelTarget
    fallback: ModelTarget | None
    mode: ModeName
    settings: AnimaModelConfig
    tiny: bool = False
    """The bundled local model: a short memories-first prompt and a plain answer (no JSON, no tools)."""
    notice: str | None = None
    """Said with every reply, e.g. which model answered and how to configure a stronger one."""


def local_notice(local: LocalModel, config_path: str) -> str:
    """What the reader of a local model's reply is told."""
    return (
        f"Answered by the bundled local model {local.name} (135M parameters, on this machine's CPU): "
        "it knows little beyond what this anima remembers. For better answers configure a model in "
        f'{config_path}: "anima_defaults": {{"model": "openai/gpt-4o-mini", "credential": "openai"}} '
        'with "credentials": {"openai": {"api_key": "sk-..."}}, or any OpenAI-compatible local server '
        '(Ollama, llama.cpp, vLLM) as a credential with a "base_url".'
    )


def plan_cycle(
    config: AnimaWorksConfig,
    anima: str,
    status: Mapping[str, Any] | None = None,
    *,
    local: LocalModel | None = None,
    config_path: str = "config.json",
) -> Plan | NoModel:
    """The models and mode for an anima's cycle, or why it has none.

    The fallback model is called with the same credential as the primary (one credential per
    anima); its mode is the primary's, since one cycle runs one loop.

    Raises:
        ConfigError: The anima's execution_mode is not a mode.
    """
    primary = resolve_target(config, anima, status)
    settings = config.anima(anima, status)
    if isinstance(primary, NoModel):
        if primary.reason != NO_MODEL or local is None:
            return primary
        return Plan(
            primary=ModelTarget(
                model=f"openai/{local.name}",
                api_base=local.base_url,
                api_key=LOCAL_SERVER_PLACEHOLDER_KEY,
                max_tokens=min(settings.max_tokens, local.max_tokens),
            ),
            fallback=None,
            mode="assisted",
            settings=settings.model_copy(
                update={"context_window": settings.context_window or local.context_window}
            ),
            tiny=True,
            notice=local_notice(local, config_path),
        )
    fallback = (
        dataclasses.replace(primary, model=settings.fallback_model)
        if settings.fallback_model and settings.fallback_model != primary.model
        else None
    )
    mode = resolve_mode(config, primary.model, settings.execution_mode)
    return Plan(primary=primary, fallback=fallback, mode=mode, settings=settings)


def neutral_request(target: ModelTarget, request: TurnRequest) -> dict[str, Any]:
    """A request as recorded when no wire form exists (the call failed before one was built)."""
    return {
        "model": target.model,
        "system": request.system,
        "conversation": [msgspec.to_builtins(dataclasses.asdict(item)) for item in request.conversation],
        "tools": [spec.name for spec in request.tools],
        "max_tokens": request.max_tokens,
    }


def recorded_turn(result: TurnResult) -> RecordedTurn:
    """A model call's result in the neutral shape ``llm.called`` keeps for replay."""
    return RecordedTurn(
        text=result.text,
        tool_calls=[
            RecordedToolCall(id=c.id, name=c.name, arguments=c.arguments, arguments_error=c.arguments_error)
            for c in result.tool_calls
        ],
        model=result.model,
        stop_reason=result.stop_reason,
    )


def replayed_result(turn: RecordedTurn, prompt_tokens: int, completion_tokens: int) -> TurnResult:
    """A recorded call's result as the modes see it (wire bodies are not rebuilt)."""
    return TurnResult(
        text=turn.text,
        tool_calls=tuple(ToolCall(c.id, c.name, c.arguments, c.arguments_error) for c in turn.tool_calls),
        model=turn.model,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        stop_reason=turn.stop_reason,
        raw_request={},
        raw_response={},
    )


def body_of(payload: Any, inline_limit: int) -> tuple[Body, bytes | None]:
    """A Body for ``payload``; the bytes to store by reference when it is over the limit."""
    encoded = msgspec.json.encode(payload)
    digest = "sha256:" + hashlib.sha256(encoded).hexdigest()
    if len(encoded) <= inline_limit:
        return Body(size=len(encoded), digest=digest, inline=payload), None
    return Body(size=len(encoded), digest=digest, stored=True), encoded


def cycle_started(
    message: MessageReceived,
    target: ModelTarget | NoModel,
    mode: str,
    *,
    trigger: Trigger = Trigger.MESSAGE,
    inputs: Body | None = None,
    prompt: Body | None = None,
) -> CycleStarted:
    """The event that opens the cycle answering ``message``, with what its prompt is made of."""
    return CycleStarted(
        id=cycle_id_for(message.id),
        anima=message.anima,
        correlation_id=message.correlation_id,
        causation_id=message.id,
        producer=PRODUCER,
        trigger=trigger,
        trigger_event_id=message.id,
        model=target.model if isinstance(target, ModelTarget) else None,
        mode=mode,
        inputs=inputs,
        prompt=prompt,
    )


def response_sent(
    message: MessageReceived,
    text: str,
    outcome: ResponseOutcome,
    model: str | None,
    notice: str | None = None,
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
        notice=notice,
        deliver=answer_goes_back(message),
        hops=message.hops,
        pair_depth=message.pair_depth,
        source=external_source(message),
    )


def external_source(message: MessageReceived) -> str | None:
    """The webhook source a message from outside came through, where outbound posts its answer.

    Taken from the stored message only (the gateway alone may publish messages from outside), so
    nothing a model writes can choose where an answer goes.
    """
    return message.source if message.origin is MessageOrigin.EXTERNAL else None


def answer_goes_back(message: MessageReceived) -> bool:
    """Whether the cycle's final answer is delivered to the sender: another anima asked something.

    Answers, reports, mentions and acks are not answered automatically, so two animas never
    loop on answers to answers; to write back the anima uses send_message, which the loop limits
    count.
    """
    return message.origin is MessageOrigin.ANIMA and message.kind is MessageKind.MESSAGE


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
