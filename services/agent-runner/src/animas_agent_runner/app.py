"""The composition root of agent-runner."""

from __future__ import annotations

from animas_agent_runner.adapters.jetstream import ObjectStoreBodies, StreamReplyLedger
from animas_agent_runner.adapters.priming_rpc import RpcPriming
from animas_agent_runner.handlers import MessageHandler
from animas_agent_runner.ports import BodyStore, ChatModel, MemoryReader, Priming, ReplyLedger
from animas_agent_runner.settings import AgentRunnerSettings
from animas_contracts.subjects import ACTIVITY_STREAM, stored_activity_filter
from animas_core.memory_client import MemoryClient
from animas_core.runtime import ConsumerSpec, ServiceRuntime

SERVICE = "agent-runner"


def message_consumers(partitions: int) -> list[ConsumerSpec]:
    """One durable consumer per partition: one owner per partition, one cycle per anima at a time.

    Leases that spread partitions over replicas come with the concurrency issue; today one
    replica owns every partition.
    """
    return [
        ConsumerSpec(
            durable=f"agent-runner-messages-p{p}",
            filter_subject=stored_activity_filter(partition=p, event_type="message.received"),
            stream=ACTIVITY_STREAM,
            long_running=True,
        )
        for p in range(partitions)
    ]


async def setup(
    runtime: ServiceRuntime,
    settings: AgentRunnerSettings,
    *,
    model: ChatModel | None = None,
    bodies: BodyStore | None = None,
    ledger: ReplyLedger | None = None,
    memory: MemoryReader | None = None,
    priming: Priming | None = None,
) -> None:
    """Register the handlers; adapters default to the real ones."""
    if model is None:
        from animas_agent_runner.adapters.litellm_model import LiteLLMChatModel

        model = LiteLLMChatModel(timeout_s=settings.llm_timeout_s)
    handler = MessageHandler(
        publisher=runtime.publisher,
        model=model,
        bodies=bodies or ObjectStoreBodies(runtime.js),
        ledger=ledger or StreamReplyLedger(runtime.js),
        config_path=settings.config_path,
        memory=memory or MemoryClient(runtime.broker.connection),
        priming=priming or RpcPriming(runtime.broker.connection),
        faults=runtime.faults,
        max_deliveries=settings.max_deliveries,
        body_inline_limit=settings.body_inline_limit,
    )
    for spec in message_consumers(runtime.partitions):
        runtime.consume(spec, handler)
