"""The composition root of consolidator: the due consumer, its run and the real adapters."""

from __future__ import annotations

from animas_consolidator.adapters.bus import BusMemoryOps, RpcKnowledgeSearch, StreamLedger
from animas_consolidator.adapters.litellm_model import LiteLLMDecisionModel
from animas_consolidator.daily import DailyRun, RunPorts
from animas_consolidator.forgetting import Forgetting
from animas_consolidator.handlers import DueHandler
from animas_consolidator.housekeeping import Housekeeping
from animas_consolidator.ports import DecisionModel
from animas_consolidator.procedures import ProcedureStage
from animas_consolidator.settings import ConsolidatorSettings
from animas_consolidator.weekly import WeeklyRun
from animas_contracts.subjects import ACTIVITY_STREAM, stored_activity_filter
from animas_core.bodies import ObjectStoreBodies
from animas_core.memory_client import MemoryClient
from animas_core.runtime import ConsumerSpec, ServiceRuntime
from animas_core.waiter import OUTCOME_SUBJECT, EventWaiter, outcome_key

SERVICE = "consolidator"

DUE_CONSUMER = ConsumerSpec(
    durable="consolidator-due",
    filter_subject=stored_activity_filter(event_type="consolidation.due"),
    stream=ACTIVITY_STREAM,
    long_running=True,  # a run waits for a model and for memory-writer: in-progress acks keep it
)
CONSUMERS: tuple[ConsumerSpec, ...] = (DUE_CONSUMER,)


async def setup(
    runtime: ServiceRuntime, settings: ConsolidatorSettings, *, model: DecisionModel | None = None
) -> None:
    """Register the handler of consolidation.due; adapters default to the real ones."""
    nc = runtime.broker.connection
    waiter = EventWaiter(OUTCOME_SUBJECT, outcome_key)
    await waiter.start(nc)
    runtime.on_shutdown(waiter.stop)
    ledger = StreamLedger(runtime.js)
    ports = RunPorts(
        files=MemoryClient(nc),
        search=RpcKnowledgeSearch(nc),
        model=model or LiteLLMDecisionModel(timeout_s=settings.llm_timeout_s),
        ops=BusMemoryOps(runtime.publisher, waiter, ledger, settings.memory_op_timeout_s),
        ledger=ledger,
        bodies=ObjectStoreBodies(runtime.js),
        publisher=runtime.publisher,
        config=runtime.config,
        faults=runtime.faults,
    )
    forgetting = Forgetting(MemoryClient(nc), ports.ops, runtime.publisher)
    daily = DailyRun(ports, forgetting, Housekeeping(ports.files, ports.ops))
    daily.procedures = ProcedureStage(ports, MemoryClient(nc))
    daily.tasks = MemoryClient(nc)
    runtime.consume(DUE_CONSUMER, DueHandler(daily, WeeklyRun(ports, forgetting)))
