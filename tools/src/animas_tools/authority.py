"""Who may publish what: one NATS user per service, with subject permissions (DESIGN §9).

The broker enforces these, so a compromised or buggy service cannot publish another's events:
agent-runner (which runs the animas' tools) can never publish identity operations or messages
from outside; only the gateway may publish inbound messages and human identity edits.
"""

from __future__ import annotations

import dataclasses

# Every JetStream client needs the API, acks, in-progress acks and reply inboxes.
_JS_CLIENT = ("$JS.API.>", "$JS.ACK.>", "_INBOX.>")
_KV_HEALTH = ("$KV.SERVICES.>",)
_BODIES = ("$O.BODIES.>",)


@dataclasses.dataclass(frozen=True)
class Permissions:
    """Publish and subscribe rules of one NATS user."""

    publish_allow: tuple[str, ...]
    publish_deny: tuple[str, ...] = ()
    subscribe_allow: tuple[str, ...] = (">",)


def _service(*subjects: str, deny: tuple[str, ...] = ()) -> Permissions:
    return Permissions(
        publish_allow=(*subjects, *_JS_CLIENT, *_KV_HEALTH),
        # Stream deletion and purges are for the operator, never for a service.
        publish_deny=("$JS.API.STREAM.DELETE.>", "$JS.API.STREAM.PURGE.>", *deny),
    )


SERVICE_PERMISSIONS: dict[str, Permissions] = {
    "gateway": _service(
        "activity.*.message.received",
        "activity.*.anima.>",
        "activity.*.identity.>",
        "rpc.>",
        "deadletter.gateway",
    ),
    "agent-runner": _service(
        "activity.*.cycle.>",
        "activity.*.llm.>",
        "activity.*.tool.>",
        "activity.*.memory.op.requested",
        "activity.*.memory.accessed",
        "activity.*.outbound.requested",
        "activity.*.notification.requested",
        "activity.*.response.sent",
        "activity.*.conversation.>",
        "activity.*.heartbeat.finished",
        "activity.*.cron.executed",
        "delta.>",
        "rpc.priming.>",
        "rpc.memory.read.>",
        "rpc.memory.animas",
        "rpc.memory.shared",
        "deadletter.agent-runner",
        *_BODIES,
        deny=("activity.*.identity.>", "activity.*.message.received"),
    ),
    "priming": _service(
        "activity.*.priming.>",
        "activity.*.memory.accessed",
        "rpc.memory.read.>",
        "rpc.memory.animas",
        "deadletter.priming",
    ),
    "memory-writer": _service(
        "activity.*.memory.op.applied",
        "activity.*.memory.op.rejected",
        "activity.*.memory.edited",
        "deadletter.memory-writer",
        *_BODIES,
    ),
    "consolidator": _service(
        "activity.*.memory.op.requested",
        "activity.*.identity.>",
        "activity.*.forgetting.>",
        "activity.*.cycle.>",
        "activity.*.llm.>",
        "deadletter.consolidator",
        *_BODIES,
    ),
    "scheduler": _service(
        "activity.*.heartbeat.due",
        "activity.*.cron.due",
        "activity.*.consolidation.due",
        "activity.*.schedule.rejected",
        "$KV.SCHEDULES.>",
        "rpc.memory.read.>",
        "rpc.memory.animas",
        "deadletter.scheduler",
    ),
    # Delivers anima-to-anima messages (origin anima) and channel posts; asks memory-writer who
    # exists. Like agent-runner, it relays what animas wrote, so identity is denied outright.
    "outbound": _service(
        "activity.*.message.received",
        "activity.*.channel.posted",
        "activity.*.outbound.delivered",
        "activity.*.outbound.failed",
        "rpc.memory.animas",
        "deadletter.outbound",
        "$KV.DELIVERIES.>",
        deny=("activity.*.identity.>", "activity.*.memory.op.>"),
    ),
}

ADMIN_USER = "admin"
"""The operator's user (the ``anima`` CLI): may do everything, including replays and purges."""
ADMIN_PERMISSIONS = Permissions(publish_allow=(">",))
