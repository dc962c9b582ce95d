"""The composition root of agent-runner."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from animas_agent_runner.adapters.background_ledger import HEALTH_KEY as BACKGROUND_HEALTH_KEY
from animas_agent_runner.adapters.background_ledger import StreamBackgroundLedger, sweep_forever
from animas_agent_runner.adapters.boards import BusBoards
from animas_agent_runner.adapters.call_limit import CallLimit
from animas_agent_runner.adapters.jetstream import (
    StreamActivity,
    StreamJournal,
    StreamReplyLedger,
)
from animas_agent_runner.adapters.memory_ops import BusMemoryOps, RpcMemorySearch
from animas_agent_runner.adapters.model_info import context_window
from animas_agent_runner.adapters.op_answers import StreamAnswers
from animas_agent_runner.adapters.outbound_verdicts import VERDICT_SUBJECT, BusOutboundSender, verdict_key
from animas_agent_runner.adapters.priming_rpc import RpcPriming
from animas_agent_runner.adapters.stored_bodies import stored_body
from animas_agent_runner.adapters.traced_model import traced_models
from animas_agent_runner.adapters.usage_metrics import MeteredEvents
from animas_agent_runner.adapters.warm import warm_in_background
from animas_agent_runner.cycle.autonomy import Autonomy, AutonomyPorts
from animas_agent_runner.cycle.reports import ReportInbox
from animas_agent_runner.cycle.runner import CycleRunner
from animas_agent_runner.cycle.tasks import TaskCycles
from animas_agent_runner.cycle.wiring import CyclePorts, CycleSettings
from animas_agent_runner.domain import LocalModel
from animas_agent_runner.handlers import MessageHandler
from animas_agent_runner.ports import BodyStore, MemoryStore, Priming, ReplyLedger, TurnModel
from animas_agent_runner.replay import replay_responder
from animas_agent_runner.settings import AgentRunnerSettings
from animas_agent_runner.toolbox.background import BackgroundTasks
from animas_agent_runner.toolbox.delegation_tools import report_key_of
from animas_agent_runner.toolbox.effects import EffectRetry
from animas_agent_runner.toolbox.external import external_client
from animas_contracts.subjects import ACTIVITY_STREAM, RPC_AGENT_REPLAY, stored_activity_filter
from animas_core.bodies import ObjectStoreBodies
from animas_core.clock import system_clock
from animas_core.memory_client import MemoryClient
from animas_core.rpc_tracing import traced_responder
from animas_core.runtime import ConsumerSpec, ServiceRuntime
from animas_core.streams import event_stored_after
from animas_core.waiter import OUTCOME_SUBJECT, EventWaiter, outcome_key

SERVICE = "agent-runner"

REPORT_SUBJECT = "activity.*.message.received"
"""Every anima's incoming messages, as stored: a waiting delegate_task picks its report out."""


def message_consumers(partitions: int) -> list[ConsumerSpec]:
    """One durable consumer per partition, shared by every replica: one cycle per partition.

    A consumer holds one unacknowledged message at a time, so whichever replica takes a
    partition's message, the next waits for it: one cycle per anima at a time, animas of other
    partitions in parallel. Messages and the anima's own heartbeat and cron share the consumer,
    so a heartbeat never runs beside a chat of the same anima.
    """
    return [
        ConsumerSpec(
            durable=f"agent-runner-p{p}",
            filter_subject=stored_activity_filter(partition=p, event_type="message.received"),
            more_subjects=tuple(
                stored_activity_filter(partition=p, event_type=t) for t in ("heartbeat.due", "cron.due")
            ),
            stream=ACTIVITY_STREAM,
            long_running=True,
        )
        for p in range(partitions)
    ]


def task_consumers(partitions: int) -> list[ConsumerSpec]:
    """One durable per partition for delegated tasks (``task.assigned``): the task lane.

    Apart from the message lane, so a supervisor's cycle waiting for a report never holds up
    the task of a subordinate in the same partition; one task cycle per partition at a time.
    """
    return [
        ConsumerSpec(
            durable=f"agent-runner-tasks-p{p}",
            filter_subject=stored_activity_filter(partition=p, event_type="task.assigned"),
            stream=ACTIVITY_STREAM,
            long_running=True,
        )
        for p in range(partitions)
    ]


def default_models(settings: AgentRunnerSettings) -> dict[str, TurnModel]:
    """The real provider clients: the Anthropic SDK for Claude, litellm for everything else."""
    from animas_agent_runner.adapters.anthropic_model import AnthropicTurnModel
    from animas_agent_runner.adapters.litellm_model import LiteLLMTurnModel

    return {
        "anthropic": AnthropicTurnModel(timeout_s=settings.llm_timeout_s),
        "litellm": LiteLLMTurnModel(timeout_s=settings.llm_timeout_s),
    }


async def setup(
    runtime: ServiceRuntime,
    settings: AgentRunnerSettings,
    *,
    models: dict[str, TurnModel] | None = None,
    bodies: BodyStore | None = None,
    ledger: ReplyLedger | None = None,
    memory: MemoryStore | None = None,
    priming: Priming | None = None,
) -> None:
    """Register the handlers; adapters default to the real ones."""
    # Cycles and model calls are counted as they are stored (metrics over OTLP).
    publisher = MeteredEvents(runtime.publisher, runtime.metrics)
    nc = runtime.broker.connection
    waiter = EventWaiter(OUTCOME_SUBJECT, outcome_key)
    await waiter.start(nc)
    runtime.on_shutdown(waiter.stop)
    verdicts = EventWaiter(VERDICT_SUBJECT, verdict_key)
    await verdicts.start(nc)
    runtime.on_shutdown(verdicts.stop)
    reports = EventWaiter(REPORT_SUBJECT, report_key_of)
    await reports.start(nc)
    runtime.on_shutdown(reports.stop)
    limit = CallLimit(settings.max_concurrent_llm_calls)
    # Calls still running in the background are stopped and recorded as interrupted first.
    background = BackgroundTasks(publisher)
    runtime.on_shutdown(background.close)
    # Calls a killed agent-runner left running are recorded as interrupted by a live one.
    runtime.extra_health[BACKGROUND_HEALTH_KEY] = background.runner
    config = runtime.config
    runtime.background(
        asyncio.create_task(
            sweep_forever(
                StreamBackgroundLedger(runtime.js),
                publisher,
                background.runner,
                system_clock,
                lambda: timedelta(hours=config.get().background_task.result_retention_hours),
                first_after_s=settings.background_sweep_after_s,
                every_s=settings.background_sweep_every_s,
            )
        )
    )
    http = external_client()
    runtime.on_shutdown(http.aclose)
    runtime.extra_health["llm_calls"] = {"limit": limit.limit}
    runner = CycleRunner(
        CyclePorts(
            publisher=publisher,
            bodies=bodies or ObjectStoreBodies(runtime.js),
            memory=memory or MemoryClient(nc),
            priming=priming or RpcPriming(nc),
            search=RpcMemorySearch(nc),
            ops=BusMemoryOps(publisher, waiter, StreamAnswers(runtime.js)),
            channels=BusBoards(MemoryClient(nc), publisher, waiter),
            # Wrapped here, not in default_models, so that every model (a test's too) is traced.
            models=limit.wrap(traced_models(models or default_models(settings), runtime.tracer_provider)),
            context_window=context_window,
            faults=runtime.faults,
            journal=StreamJournal(runtime.js),
            outbound=BusOutboundSender(publisher, verdicts, runtime.js),
            reports=reports,
            http=http,
            background=background,
            config=config,
        ),
        CycleSettings(
            config_path=settings.config_path,
            max_deliveries=settings.max_deliveries,
            body_inline_limit=settings.body_inline_limit,
            workspace=settings.workspace,
            # The service's own home and config (credentials) are never a tool's to see.
            hidden=(*settings.hidden_paths, settings.home, settings.config_path),
            op_timeout_s=settings.memory_op_timeout_s,
            effect_retry=EffectRetry(backoff_s=settings.effect_retry_backoff_s),
            command_path=settings.command_path,
            local_model=LocalModel(base_url=settings.local_model_url) if settings.local_model_url else None,
        ),
    )
    replies = ledger or StreamReplyLedger(runtime.js)
    autonomy = Autonomy(
        runner,
        AutonomyPorts(
            memory=runner.memory,
            publisher=publisher,
            activity=StreamActivity(runtime.js),
            ledger=replies,
        ),
        settings.workspace,
    )

    async def stored(anima: str, event_type: str, event_id: str, after_seq: int) -> bool:
        return await event_stored_after(
            runtime.js, anima=anima, event_type=event_type, event_id=event_id, after_seq=after_seq
        )

    handler = MessageHandler(
        publisher=publisher,
        ledger=replies,
        runner=runner,
        autonomy=autonomy,
        reports=ReportInbox(memory=runner.memory, publisher=publisher, stored=stored),
    )
    tasks = TaskCycles(
        runner=runner,
        publisher=publisher,
        memory=runner.memory,
        ops=BusMemoryOps(publisher, waiter, StreamAnswers(runtime.js)),
        ledger=replies,
        op_timeout_s=settings.memory_op_timeout_s,
    )
    if settings.local_model_url and models is None:
        # Every cycle of the bundled model goes through litellm: load it before the first message.
        warm_in_background()
    runtime.extra_health["default_model"] = (
        f"bundled local model at {settings.local_model_url}"
        if settings.local_model_url
        else "none (animas without a configured model get configuration guidance)"
    )
    # Durables of earlier builds are removed by the operator's provisioning
    # (animas_core.streams.RETIRED_DURABLES): this user may not delete consumers.
    for spec in message_consumers(runtime.partitions):
        runtime.consume(spec, handler)
    for spec in task_consumers(runtime.partitions):
        runtime.consume(spec, tasks)

    # The HTTP API's "replay this cycle": offline, against the recordings the request carries.
    async def body(digest: str) -> bytes | None:
        return await stored_body(runtime.js, digest)

    replay = replay_responder(body)
    await nc.subscribe(
        RPC_AGENT_REPLAY, queue=SERVICE, cb=traced_responder(replay, tracer_provider=runtime.tracer_provider)
    )
