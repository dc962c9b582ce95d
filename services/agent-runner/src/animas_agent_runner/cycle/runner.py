"""The cycle that answers one message (seed 003 §8.4), in the steps the seed names.

Activation → recall (priming) → think and act (the execution mode, with tools) → communicate
(the reply, streamed) → encode (today's episode) → rest. Every step is an event; the handler
above only decodes and guards against redelivery.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from animas_agent_runner import domain
from animas_agent_runner.cycle.encoding import encode_cycle
from animas_agent_runner.cycle.inputs import gather_inputs
from animas_agent_runner.cycle.recorder import CycleRecorder, CycleRef, StreamedTools
from animas_agent_runner.modes.assisted import run_assisted, run_plain
from animas_agent_runner.modes.calls import Candidate, ModelChain
from animas_agent_runner.modes.tool_loop import ModeOutcome, StopReason, run_tool_loop
from animas_agent_runner.ports import (
    BodyStore,
    ChannelReader,
    MemoryOps,
    MemorySearch,
    MemoryStore,
    ModelCallFailed,
    Priming,
    TurnModel,
)
from animas_agent_runner.prompt import build_system_prompt
from animas_agent_runner.prompt.tiny import build_tiny_prompt
from animas_agent_runner.toolbox.catalogue import ALL_TOOLS
from animas_agent_runner.toolbox.context import ToolContext
from animas_agent_runner.toolbox.surface import ToolSurface
from animas_agent_runner.toolbox.workspace import Workspace
from animas_contracts import (
    CycleStatus,
    MessageOrigin,
    MessageReceived,
    PrimeReply,
    PrimeRequest,
    ResponseOutcome,
)
from animas_core.broker import EventSink
from animas_core.config import CachedConfig, ConfigError
from animas_core.errors import RetryableError
from animas_core.faults import FaultPoints
from animas_core.permissions import Permissions, parse_permissions
from animas_core.policy import Delivery

_log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class CyclePorts:
    """Everything outside agent-runner a cycle talks to."""

    publisher: EventSink
    bodies: BodyStore
    memory: MemoryStore
    priming: Priming
    search: MemorySearch
    ops: MemoryOps
    channels: ChannelReader
    models: Mapping[str, TurnModel]
    """A client per provider format: ``anthropic`` (the Anthropic SDK) and ``litellm`` (all others)."""
    context_window: Callable[[str], int]
    faults: FaultPoints


@dataclasses.dataclass(frozen=True)
class CycleSettings:
    """How cycles run on this replica."""

    config_path: Path
    max_deliveries: int
    body_inline_limit: int
    workspace: Path | None
    hidden: tuple[Path, ...] = ()
    """Paths no workspace tool may touch, whatever an anima's permissions say."""
    op_timeout_s: float = 10.0
    command_path: str = "/usr/local/bin:/usr/bin:/bin"
    local_model: domain.LocalModel | None = None
    """The bundled local model's server, used when an anima has no model configured."""


class CycleRunner:
    """Runs the cycle answering one message."""

    def __init__(self, ports: CyclePorts, settings: CycleSettings) -> None:
        self._ports = ports
        self._settings = settings
        self._config = CachedConfig(settings.config_path)

    async def answer(self, event: MessageReceived, delivery: Delivery) -> None:
        """Answer ``event`` once: the reply and the closing event have derived ids."""
        started = time.monotonic()
        ports = self._ports
        status = await self._status(event.anima)
        plan = self._plan(event.anima, status)
        mode = plan.mode if isinstance(plan, domain.Plan) else "none"
        await ports.publisher.publish(
            domain.cycle_started(event, plan.primary if isinstance(plan, domain.Plan) else plan, mode)
        )
        if isinstance(plan, domain.NoModel):
            text = domain.configuration_guidance(event.anima, str(self._settings.config_path), plan.reason)
            await self._close(event, text, ResponseOutcome.CONFIGURATION_NEEDED, None, started, plan.reason)
            return
        window = plan.settings.context_window or ports.context_window(plan.primary.model)
        primed = await ports.priming.prime(
            event.anima,
            PrimeRequest(trigger="message", text=event.text, sender=event.sender, context_window=window),
        )
        if primed.errors:
            _log.warning("priming incomplete", extra={"message_id": event.id, "errors": primed.errors})
        now = datetime.now(ZoneInfo(plan.settings.timezone or self._config.get().system.timezone))
        permissions_md = await ports.memory.read(event.anima, "permissions.md")
        permissions = parse_permissions(permissions_md)
        tools = ToolSurface(self._tool_context(event, permissions, now), ALL_TOOLS)
        system = await self._system_prompt(plan, event, primed, now, tools, window)
        recorder = CycleRecorder(
            CycleRef(
                event.anima,
                domain.cycle_id_for(event.id),
                event.correlation_id,
                event.id,
                delivery.deliveries,
            ),
            ports.publisher,
            ports.bodies,
            self._settings.body_inline_limit,
        )
        try:
            outcome = await self._think(plan, recorder, system, event, tools)
        except ModelCallFailed as exc:
            await recorder.finish()
            if exc.transient and delivery.deliveries < self._settings.max_deliveries:
                raise RetryableError(str(exc)) from exc
            text = domain.failure_reply(str(exc), delivery.deliveries)
            await self._close(event, text, ResponseOutcome.ERROR, plan.primary.model, started, str(exc))
            return
        await recorder.finish()
        reply = outcome.reply or "(I have nothing to add.)"
        if outcome.stop is StopReason.MAX_TURNS:
            reply += f"\n\n(I stopped after {outcome.turns} turns, the most one cycle may take.)"
        await ports.publisher.publish(
            domain.response_sent(event, reply, ResponseOutcome.REPLY, outcome.model, plan.notice)
        )
        ports.faults.reach("after-response-sent")
        await encode_cycle(ports.publisher, event, outcome, tools.effects, primed.paths, now)
        duration_ms = (time.monotonic() - started) * 1000
        await ports.publisher.publish(domain.cycle_finished(event, CycleStatus.OK, duration_ms))

    async def _system_prompt(
        self,
        plan: domain.Plan,
        event: MessageReceived,
        primed: PrimeReply,
        now: datetime,
        tools: ToolSurface,
        window: int,
    ) -> str:
        """The full prompt of seed 003 §10, or the short one a tiny model can follow."""
        memory = self._ports.memory
        if plan.tiny:
            identity = await memory.read(event.anima, "identity.md") or ""
            return build_tiny_prompt(anima=event.anima, identity=identity, recalled=primed.text()).text
        inputs = await gather_inputs(
            memory,
            event,
            primed,
            now=now,
            mode=plan.mode,
            tools=tools.specs(),
            workspace=self._workspace_label(event.anima),
            human_notifications=self._config.get().human_notification.enabled,
        )
        return build_system_prompt(inputs, window).text

    async def _think(
        self,
        plan: domain.Plan,
        recorder: CycleRecorder,
        system: str,
        event: MessageReceived,
        tools: ToolSurface,
    ) -> ModeOutcome:
        candidates = [Candidate(self._model_for(plan.primary.model, plan.mode), plan.primary)]
        if plan.fallback is not None:
            candidates.append(Candidate(self._model_for(plan.fallback.model, plan.mode), plan.fallback))
        chain = ModelChain(tuple(candidates), recorder)
        user_text = f"[{event.sender}] {event.text}"
        max_tokens = plan.settings.max_tokens
        if plan.tiny:
            return await run_plain(chain, system=system, user_text=event.text, max_tokens=max_tokens)
        if plan.mode == "assisted":
            return await run_assisted(
                chain, system=system, user_text=user_text, tools=tools, max_tokens=max_tokens
            )
        return await run_tool_loop(
            chain,
            system=system,
            user_text=user_text,
            tools=StreamedTools(tools, recorder),
            max_turns=plan.settings.max_turns,
            max_tokens=max_tokens,
        )

    def _model_for(self, model: str, mode: str) -> TurnModel:
        """The Anthropic SDK serves Claude models in the anthropic mode; litellm serves the rest."""
        models = self._ports.models
        if mode == "anthropic" and (model.startswith(("anthropic/", "claude-"))):
            return models["anthropic"]
        return models["litellm"]

    async def _status(self, anima: str) -> dict[str, object] | str:
        text = await self._ports.memory.read(anima, "status.json")
        if text is None:
            return f"there is no anima named {anima!r}"
        try:
            status = json.loads(text)
        except json.JSONDecodeError as exc:
            return f"its status.json is not valid JSON ({exc.msg})"
        if not isinstance(status, dict):
            return "its status.json is not a JSON object"
        if not status.get("enabled", True):
            return "it is disabled"
        return status

    def _plan(self, anima: str, status: dict[str, object] | str) -> domain.Plan | domain.NoModel:
        if isinstance(status, str):
            return domain.NoModel(status)
        try:
            return domain.plan_cycle(
                self._config.get(),
                anima,
                status,
                local=self._settings.local_model,
                config_path=str(self._settings.config_path),
            )
        except ConfigError as exc:
            return domain.NoModel(str(exc))

    def _workspace_label(self, anima: str) -> str | None:
        root = self._settings.workspace
        return str(root / anima) if root is not None else None

    def _tool_context(self, event: MessageReceived, permissions: Permissions, now: datetime) -> ToolContext:
        ports = self._ports
        settings = self._settings
        from_anima = event.origin is MessageOrigin.ANIMA
        workspace = (
            Workspace(
                root=settings.workspace, anima=event.anima, permissions=permissions, hidden=settings.hidden
            )
            if settings.workspace is not None
            else None
        )
        return ToolContext(
            anima=event.anima,
            cycle_id=domain.cycle_id_for(event.id),
            correlation_id=event.correlation_id,
            thread_id=event.thread_id,
            trigger=domain.trigger_label(event),
            permissions=permissions,
            memory=ports.memory,
            search=ports.search,
            ops=ports.ops,
            channels=ports.channels,
            publisher=ports.publisher,
            workspace=workspace,
            now=lambda: datetime.now(now.tzinfo),
            reply_to=event.id if from_anima else None,
            reply_to_sender=event.sender if from_anima else None,
            op_timeout_s=settings.op_timeout_s,
        )

    async def _close(
        self,
        event: MessageReceived,
        text: str,
        outcome: ResponseOutcome,
        model: str | None,
        started: float,
        error: str | None,
    ) -> None:
        publisher = self._ports.publisher
        await publisher.publish(domain.response_sent(event, text, outcome, model))
        self._ports.faults.reach("after-response-sent")
        status = (
            CycleStatus.CONFIGURATION_NEEDED
            if outcome is ResponseOutcome.CONFIGURATION_NEEDED
            else CycleStatus.FAILED
        )
        duration_ms = (time.monotonic() - started) * 1000
        await publisher.publish(domain.cycle_finished(event, status, duration_ms, error))
