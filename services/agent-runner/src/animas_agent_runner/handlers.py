"""The message handler: decode, guard against repeats, run the cycle, record every step."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from animas_agent_runner import domain
from animas_agent_runner.ports import (
    BodyStore,
    ChatModel,
    MemoryReader,
    ModelCallFailed,
    ModelTarget,
    Priming,
    ReplyLedger,
)
from animas_contracts import (
    ContractError,
    CycleStatus,
    MessageReceived,
    PrimeRequest,
    ResponseOutcome,
    decode_event,
    validate_anima_name,
)
from animas_contracts.names import InvalidAnimaName
from animas_core.broker import EventSink
from animas_core.config import CachedConfig, ConfigError
from animas_core.errors import PoisonMessage, RetryableError
from animas_core.faults import FaultPoints
from animas_core.policy import Delivery

_log = logging.getLogger(__name__)


class MessageHandler:
    """Answers ``message.received`` events: one cycle per message, one reply per message."""

    def __init__(
        self,
        *,
        publisher: EventSink,
        model: ChatModel,
        bodies: BodyStore,
        ledger: ReplyLedger,
        config_path: Path,
        memory: MemoryReader,
        priming: Priming,
        faults: FaultPoints,
        max_deliveries: int,
        body_inline_limit: int,
    ) -> None:
        self._publisher = publisher
        self._model = model
        self._bodies = bodies
        self._ledger = ledger
        self._config = CachedConfig(config_path)
        self._config_path = config_path
        self._memory = memory
        self._priming = priming
        self._faults = faults
        self._max_deliveries = max_deliveries
        self._inline_limit = body_inline_limit

    async def __call__(self, data: bytes, delivery: Delivery) -> None:
        """Handle one delivery of a ``message.received`` event."""
        event = decode_event(data)
        if not isinstance(event, MessageReceived):
            raise ContractError(f"expected message.received, got {event.event_type}")
        try:
            validate_anima_name(event.anima)
        except InvalidAnimaName as exc:
            raise PoisonMessage(str(exc)) from None
        started = time.monotonic()
        if delivery.deliveries > 1 and await self._already_answered(event, delivery):
            # The reply is stored; only the closing event may be missing. Its id is derived,
            # so publishing it again is dropped if it was there.
            await self._publisher.publish(domain.cycle_finished(event, CycleStatus.OK, 0.0))
            _log.info("redelivered message was already answered", extra={"message_id": event.id})
            return
        await self._run_cycle(event, delivery, started)

    async def _already_answered(self, event: MessageReceived, delivery: Delivery) -> bool:
        return await self._ledger.reply_exists(
            event.anima, domain.reply_id_for(event.id), after_seq=delivery.stream_seq or 0
        )

    async def _run_cycle(self, event: MessageReceived, delivery: Delivery, started: float) -> None:
        target = await self._target(event.anima)
        await self._publisher.publish(domain.cycle_started(event, target))
        if isinstance(target, domain.NoModel):
            text = domain.configuration_guidance(event.anima, str(self._config_path), target.reason)
            await self._finish(
                event, text, ResponseOutcome.CONFIGURATION_NEEDED, None, started, target.reason
            )
            return
        primed = await self._priming.prime(
            event.anima, PrimeRequest(trigger="message", text=event.text, sender=event.sender)
        )
        if primed.errors:
            _log.warning("priming incomplete", extra={"message_id": event.id, "errors": primed.errors})
        messages = domain.build_messages(event, primed.text())
        try:
            completion_text, model = await self._call_model(event, delivery, target, messages)
        except ModelCallFailed as exc:
            last_attempt = delivery.deliveries >= self._max_deliveries
            if exc.transient and not last_attempt:
                raise RetryableError(str(exc)) from exc
            text = domain.failure_reply(str(exc), delivery.deliveries)
            await self._finish(event, text, ResponseOutcome.ERROR, target.model, started, str(exc))
            return
        await self._finish(event, completion_text, ResponseOutcome.REPLY, model, started, None)

    async def _target(self, anima: str) -> ModelTarget | domain.NoModel:
        status_text = await self._memory.read(anima, "status.json")
        if status_text is None:
            return domain.NoModel(f"there is no anima named {anima!r}")
        try:
            status = json.loads(status_text)
        except json.JSONDecodeError as exc:
            return domain.NoModel(f"its status.json is not valid JSON ({exc.msg})")
        if not status.get("enabled", True):
            return domain.NoModel("it is disabled")
        try:
            return domain.resolve_target(self._config.get(), anima, status)
        except ConfigError as exc:
            return domain.NoModel(str(exc))

    async def _call_model(
        self,
        event: MessageReceived,
        delivery: Delivery,
        target: ModelTarget,
        messages: list[dict[str, object]],
    ) -> tuple[str, str]:
        request, stored_request = domain.body_of(domain.request_body(target, messages), self._inline_limit)
        if stored_request is not None:
            await self._bodies.put(request.digest, stored_request)
        began = time.monotonic()
        try:
            completion = await self._model.complete(target, list(messages))
        except ModelCallFailed as exc:
            await self._publisher.publish(
                domain.llm_called(
                    event,
                    attempt=delivery.deliveries,
                    ordinal=0,
                    target=target,
                    request=request,
                    response=None,
                    completion=None,
                    latency_ms=(time.monotonic() - began) * 1000,
                    error=str(exc),
                )
            )
            raise
        latency_ms = (time.monotonic() - began) * 1000
        response, stored_response = domain.body_of(completion.raw, self._inline_limit)
        if stored_response is not None:
            await self._bodies.put(response.digest, stored_response)
        await self._publisher.publish(
            domain.llm_called(
                event,
                attempt=delivery.deliveries,
                ordinal=0,
                target=target,
                request=request,
                response=response,
                completion=completion,
                latency_ms=latency_ms,
                error=None,
            )
        )
        return completion.text, completion.model

    async def _finish(
        self,
        event: MessageReceived,
        text: str,
        outcome: ResponseOutcome,
        model: str | None,
        started: float,
        error: str | None,
    ) -> None:
        await self._publisher.publish(domain.response_sent(event, text, outcome, model))
        self._faults.reach("after-response-sent")
        status = {
            ResponseOutcome.REPLY: CycleStatus.OK,
            ResponseOutcome.CONFIGURATION_NEEDED: CycleStatus.CONFIGURATION_NEEDED,
            ResponseOutcome.ERROR: CycleStatus.FAILED,
        }[outcome]
        duration_ms = (time.monotonic() - started) * 1000
        await self._publisher.publish(domain.cycle_finished(event, status, duration_ms, error))
