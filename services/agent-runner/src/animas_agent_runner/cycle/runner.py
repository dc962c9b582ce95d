"""The cycle that answers one message (seed 003 §8.4), in the steps the seed names.

Activation → recall (priming) → think and act (the execution mode, with tools) → communicate
(the reply, streamed) → encode (today's episode) → rest. Every step is an event; the handler
above only decodes and guards against redelivery.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from animas_agent_runner import domain
from animas_agent_runner.adapters.warm import libraries_loaded
from animas_agent_runner.cycle.continuity import chaining_for, recover_interrupted
from animas_agent_runner.cycle.conversation import message_line
from animas_agent_runner.cycle.encoding import encode_cycle
from animas_agent_runner.cycle.episode_entry import trigger_label
from animas_agent_runner.cycle.history import message_history
from animas_agent_runner.cycle.inputs import gather_inputs, trigger_of
from animas_agent_runner.cycle.recipe import CycleRecipe, PlanRecord, TinyInputs
from animas_agent_runner.cycle.recorder import CycleRecorder, CycleRef, StreamedTools
from animas_agent_runner.cycle.thinking import think
from animas_agent_runner.cycle.tiny_history import tiny_history, with_recent
from animas_agent_runner.cycle.wiring import CyclePorts, CycleSettings
from animas_agent_runner.modes.calls import Candidate, ModelChain
from animas_agent_runner.modes.tool_loop import StopReason
from animas_agent_runner.ports import (
    AssistantTurn,
    MemoryStore,
    ModelCallFailed,
    TurnModel,
    UserTurn,
)
from animas_agent_runner.prompt import PromptTrigger
from animas_agent_runner.prompt.tiny import tiny_recall
from animas_agent_runner.toolbox.background import BackgroundTasks
from animas_agent_runner.toolbox.catalogue import ALL_TOOLS
from animas_agent_runner.toolbox.context import ToolContext
from animas_agent_runner.toolbox.external import external_client, external_tools
from animas_agent_runner.toolbox.notify_tools import gated, notify_gate
from animas_agent_runner.toolbox.surface import ToolSurface
from animas_agent_runner.toolbox.workspace import Workspace
from animas_contracts import (
    Body,
    CycleStatus,
    MessageKind,
    MessageOrigin,
    MessageReceived,
    PrimeReply,
    PrimeRequest,
    ResponseOutcome,
    Trigger,
)
from animas_core.config import CachedConfig, ConfigError
from animas_core.errors import RetryableError
from animas_core.permissions import Permissions, parse_permissions
from animas_core.policy import Delivery
from animas_core.schedules.anima_zone import anima_zone

_log = logging.getLogger(__name__)

_PRIMING_TRIGGER = {PromptTrigger.HEARTBEAT: "heartbeat", PromptTrigger.CRON: "cron"}
"""Priming sizes its budget by trigger (seed 004): a heartbeat gets the heartbeat budget."""
_CYCLE_TRIGGER = {PromptTrigger.HEARTBEAT: Trigger.HEARTBEAT, PromptTrigger.CRON: Trigger.CRON}


class CycleRunner:
    """Runs the cycle answering one message."""

    def __init__(self, ports: CyclePorts, settings: CycleSettings) -> None:
        self._ports = ports
        self._settings = settings
        self._config = ports.config or CachedConfig(settings.config_path)
        self._http = ports.http or external_client()
        self._background = ports.background or BackgroundTasks(ports.publisher)

    async def answer(
        self,
        event: MessageReceived,
        delivery: Delivery,
        *,
        trigger: PromptTrigger | None = None,
        history: bool = True,
    ) -> str | None:
        """Answer ``event`` once: the reply and the closing event have derived ids.

        ``trigger`` overrides what the message implies (a heartbeat or cron cycle is run as a
        message from the anima's own clock); ``history`` off starts a fresh session (cron).
        Returns the reply, or None when the model gave none.
        """
        started = time.monotonic()
        trigger = trigger or trigger_of(event)
        ports = self._ports
        status = await self._status(event.anima)
        plan = self._plan(event.anima, status)
        if isinstance(plan, domain.NoModel):
            await ports.publisher.publish(domain.cycle_started(event, plan, "none"))
            text = domain.configuration_guidance(event.anima, str(self._settings.config_path), plan.reason)
            await self._close(event, text, ResponseOutcome.CONFIGURATION_NEEDED, None, started, plan.reason)
            return None
        if delivery.deliveries > 1:
            await recover_interrupted(ports.journal, ports.publisher, event, delivery.deliveries)
        await libraries_loaded()
        window = plan.settings.context_window or ports.context_window(plan.primary.model)
        primed = await ports.priming.prime(
            event.anima,
            PrimeRequest(
                trigger=_PRIMING_TRIGGER.get(trigger, "message"),
                text=event.text,
                sender=event.sender,
                context_window=window,
                thread_id=event.thread_id,
                share_across_people=plan.settings.share_across_people,
                cycle_id=domain.cycle_id_for(event.id),
            ),
        )
        if primed.errors:
            _log.warning("priming incomplete", extra={"message_id": event.id, "errors": primed.errors})
        zone = ZoneInfo(plan.settings.timezone or self._config.get().system.timezone)
        now = ports.clock().astimezone(zone)
        permissions_md = await ports.memory.read(event.anima, "permissions.md")
        permissions = parse_permissions(permissions_md)
        config = self._config.get()
        notify = await notify_gate(ports.memory, event.anima, config.human_notification, permissions)
        surface = (*gated(ALL_TOOLS, notify), *external_tools(config, self._http))
        tools = ToolSurface(
            self._tool_context(event, permissions, now),
            surface,
            background=(self._background, config.background_task),
        )
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
        recipe = await self._recipe(plan, event, primed, now, tools, window, recorder, trigger, history)
        system = recipe.system_prompt()
        await ports.publisher.publish(
            domain.cycle_started(
                event,
                plan.primary,
                plan.mode,
                trigger=_CYCLE_TRIGGER.get(trigger, Trigger.MESSAGE),
                inputs=await self._body(recipe.to_dict()),
                prompt=await self._body(system),
            )
        )
        chaining = chaining_for(
            ports.publisher,
            event,
            window=window,
            threshold=plan.settings.context_threshold,
            max_chains=plan.settings.max_chains,
        )
        try:
            outcome = await think(
                self._chain(plan, recorder),
                recipe,
                system=system,
                tools=tools,
                loop_tools=StreamedTools(tools, recorder),
                chaining=chaining,
                cwd=self._settings.workspace / event.anima if self._settings.workspace else None,
            )
        except ModelCallFailed as exc:
            await recorder.finish()
            if exc.transient and delivery.deliveries < self._settings.max_deliveries:
                raise RetryableError(str(exc)) from exc
            text = domain.failure_reply(str(exc), delivery.deliveries)
            await self._close(event, text, ResponseOutcome.ERROR, plan.primary.model, started, str(exc))
            return None
        await recorder.finish()
        reply = outcome.reply or "(I have nothing to add.)"
        if outcome.stop is StopReason.MAX_TURNS:
            reply += f"\n\n(I stopped after {outcome.turns} turns, the most one cycle may take.)"
        await ports.publisher.publish(
            domain.response_sent(event, reply, ResponseOutcome.REPLY, outcome.model, plan.notice)
        )
        ports.faults.reach("after-response-sent")
        cycle_trigger = _CYCLE_TRIGGER.get(trigger, Trigger.MESSAGE)
        await encode_cycle(ports.publisher, event, outcome, tools.effects, primed.paths, now, cycle_trigger)
        duration_ms = (time.monotonic() - started) * 1000
        await ports.publisher.publish(domain.cycle_finished(event, CycleStatus.OK, duration_ms))
        return outcome.reply or None

    async def _recipe(
        self,
        plan: domain.Plan,
        event: MessageReceived,
        primed: PrimeReply,
        now: datetime,
        tools: ToolSurface,
        window: int,
        recorder: CycleRecorder,
        trigger: PromptTrigger,
        history: bool,
    ) -> CycleRecipe:
        """What this cycle's prompt and requests are built from.

        The full prompt of seed 003 §10, or the short one a tiny model can follow.
        """
        memory = self._ports.memory
        settings = plan.settings
        record = PlanRecord(
            mode=plan.mode,
            model=plan.primary.model,
            fallback=plan.fallback.model if plan.fallback else None,
            tiny=plan.tiny,
            window=window,
            max_turns=settings.max_turns,
            # A tiny model's cap is the local model's short one, not the anima's (which is sized for
            # a hosted model and let a looping 135M model run on to the server's limit).
            max_tokens=plan.primary.max_tokens if plan.tiny else settings.max_tokens,
            context_threshold=settings.context_threshold,
            max_chains=settings.max_chains,
        )
        if plan.tiny:
            identity = await memory.read(event.anima, "identity.md") or ""
            recent = await tiny_history(memory, event) if history else ()
            return CycleRecipe(
                plan=record,
                user_text=with_recent(recent, event.text),
                tiny_inputs=TinyInputs(
                    anima=event.anima, identity=identity, recalled=tiny_recall(primed.sections)
                ),
            )
        inputs = await gather_inputs(
            memory,
            event,
            primed,
            now=now,
            mode=plan.mode,
            tools=tools.specs(),
            workspace=self._workspace_label(event.anima),
            tool_guides=tools.guides(),
            human_notifications=self._config.get().human_notification.enabled,
            trigger=trigger,
        )
        if not history:
            return CycleRecipe(plan=record, user_text=message_line(event), prompt_inputs=inputs)
        *earlier, current = await self._history(plan, event, window, recorder)
        return CycleRecipe(plan=record, user_text=current.text, prompt_inputs=inputs, history=tuple(earlier))

    async def _history(
        self, plan: domain.Plan, event: MessageReceived, window: int, recorder: CycleRecorder
    ) -> tuple[UserTurn | AssistantTurn, ...]:
        # A chain of its own: a failed summary must not move the cycle to its fallback model.
        return await message_history(
            self._ports.memory,
            self._ports.publisher,
            event,
            summarizer=self._chain(plan, recorder),
            recorder=recorder,
            window=window,
            threshold=plan.settings.conversation_history_threshold,
            max_tokens=plan.settings.max_tokens,
        )

    def _chain(self, plan: domain.Plan, recorder: CycleRecorder) -> ModelChain:
        candidates = [Candidate(self._model_for(plan.primary.model, plan.mode), plan.primary)]
        if plan.fallback is not None:
            candidates.append(Candidate(self._model_for(plan.fallback.model, plan.mode), plan.fallback))
        return ModelChain(tuple(candidates), recorder)

    async def _body(self, payload: object) -> Body:
        body, stored = domain.body_of(payload, self._settings.body_inline_limit)
        if stored is not None:
            await self._ports.bodies.put(body.digest, stored)
        return body

    @property
    def memory(self) -> MemoryStore:
        """The anima files this runner reads (through memory-writer)."""
        return self._ports.memory

    async def zone_of(self, anima: str) -> ZoneInfo:
        """The anima's time zone, by the rule the scheduler fires its schedules with."""
        status = await self._status(anima)
        zone, problem = anima_zone(anima, status if isinstance(status, dict) else {}, self._config.get())
        if problem is not None:
            _log.warning("the anima's time zone is not understood", extra={"anima": anima, "error": problem})
        return zone

    async def workspace_for(self, anima: str) -> Workspace | None:
        """The anima's workspace under its permissions; None when no workspace is configured."""
        root = self._settings.workspace
        if root is None:
            return None
        permissions = parse_permissions(await self._ports.memory.read(anima, "permissions.md"))
        # The anima's own folder is where its commands run; a new anima has none yet.
        (root / anima).mkdir(parents=True, exist_ok=True)
        return self._workspace(root, anima, permissions)

    def _workspace(self, root: Path, anima: str, permissions: Permissions) -> Workspace:
        """Workspace tools on the configured command PATH, commands in the configured sandbox."""
        settings = self._settings
        return Workspace(
            root=root,
            anima=anima,
            permissions=permissions,
            hidden=settings.hidden,
            command_path=settings.command_path,
            sandbox=self._config.get().sandbox,
        )

    def _model_for(self, model: str, mode: str) -> TurnModel:
        """The Anthropic SDK serves Claude models in the anthropic mode; litellm serves the rest."""
        return self._ports.models[domain.client_for(model, mode)]

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
            self._workspace(settings.workspace, event.anima, permissions)
            if settings.workspace is not None
            else None
        )
        return ToolContext(
            anima=event.anima,
            cycle_id=domain.cycle_id_for(event.id),
            correlation_id=event.correlation_id,
            thread_id=event.thread_id,
            trigger=trigger_label(event),
            permissions=permissions,
            memory=ports.memory,
            search=ports.search,
            ops=ports.ops,
            channels=ports.channels,
            publisher=ports.publisher,
            workspace=workspace,
            now=lambda: self._ports.clock().astimezone(now.tzinfo),
            reply_to=event.id if from_anima else None,
            reply_to_sender=event.sender if from_anima else None,
            answers_to=event.sender if domain.answer_goes_back(event) else None,
            hops=event.hops,
            pair_depth=event.pair_depth,
            outbound=ports.outbound,
            task=event.task if event.kind is MessageKind.TASK else None,
            reports=ports.reports,
            op_timeout_s=settings.op_timeout_s,
            effect_retry=settings.effect_retry,
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
