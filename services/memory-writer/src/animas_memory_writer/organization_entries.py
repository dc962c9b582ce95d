"""Activity-log entries of an anima's dealings with others and its own clock (seed 003 §4.10).

``tool_use``, ``dm_sent``, ``channel_post``, ``channel_read``, ``cron_executed``, ``heartbeat_end``,
``human_notify``, ``task_delegated`` and ``task_reported`` are the seed's names. Beyond its list:
``board_created``/``board_joined``/``board_left`` (membership), ``message_refused`` (a storm guard
or loop limit said no), ``human_notify_failed`` (a channel gave up), ``background_result`` (a tool
call that went on in the background ended) and ``background_delivered`` (priming showed that result
to a cycle). Registered on :func:`animas_memory_writer.domain.entry_for`, so they are as pure and as
rebuildable as the rest.
"""

from __future__ import annotations

from typing import Any

from animas_contracts import (
    BackgroundResultDelivered,
    BoardCreated,
    BoardJoined,
    BoardLeft,
    ChannelPosted,
    ChannelRead,
    CronExecuted,
    HeartbeatFinished,
    HumanNotified,
    HumanNotifyFailed,
    HumanNotifyRequested,
    MessagingRefused,
    OutboundDelivered,
    OutboundFailed,
    OutboundKind,
    TaskDelegated,
    TaskReported,
    ToolBackgroundFinished,
    ToolUsed,
)
from animas_memory_writer.domain import entry_base, entry_for, summary_of


@entry_for.register
def _(event: ToolUsed) -> dict[str, Any]:
    return entry_base(
        event,
        "tool_use",
        tool=event.tool,
        summary=f"{event.tool}: {event.status.value}" + (f" ({event.reason})" if event.reason else ""),
        meta={"cycle_id": event.cycle_id, "ordinal": event.ordinal, "status": event.status.value},
    )


@entry_for.register
def _(event: ToolBackgroundFinished) -> dict[str, Any]:
    # Priming's task channel shows it once, in the next cycle (then background_delivered).
    return entry_base(
        event,
        "background_result",
        tool=event.tool,
        content=event.result or None,
        summary=f"{event.tool} in the background: {event.status.value}"
        + (f" ({event.error})" if event.error else ""),
        meta={
            "task_id": event.task_id,
            "cycle_id": event.cycle_id,
            "status": event.status.value,
            "error": event.error,
        },
    )


@entry_for.register
def _(event: BackgroundResultDelivered) -> dict[str, Any]:
    return entry_base(
        event,
        "background_delivered",
        summary=f"background task {event.task_id} shown to cycle {event.cycle_id}",
        meta={"task_id": event.task_id, "cycle_id": event.cycle_id},
    )


@entry_for.register
def _(event: OutboundDelivered) -> dict[str, Any] | None:
    # A post is logged from its channel.posted; this is the sender's record of a direct message.
    if event.kind is not OutboundKind.MESSAGE:
        return None
    return entry_base(
        event,
        "dm_sent",
        content=event.text or None,
        summary=summary_of(event.text) if event.text else f"message delivered to {event.to}",
        to=event.to,
        via="anima",
        meta={"request_id": event.request_id, "intent": event.intent.value, "thread_id": event.thread_id},
    )


@entry_for.register
def _(event: OutboundFailed) -> dict[str, Any]:
    return entry_base(
        event,
        "error",
        summary=f"not delivered to {event.to}: {event.reason}",
        to=event.to,
        meta={"request_id": event.request_id, "kind": event.kind.value},
    )


@entry_for.register
def _(event: MessagingRefused) -> dict[str, Any]:
    return entry_base(
        event,
        "message_refused",
        summary=f"{event.rule.value}: {event.reason}",
        to=event.to,
        meta={"request_id": event.request_id, "rule": event.rule.value, "thread_id": event.thread_id},
    )


@entry_for.register
def _(event: ChannelPosted) -> dict[str, Any]:
    return entry_base(
        event,
        "channel_post",
        content=event.text,
        summary=summary_of(event.text),
        channel=event.channel,
        meta={"request_id": event.request_id, "thread_id": event.thread_id},
    )


@entry_for.register
def _(event: ChannelRead) -> dict[str, Any]:
    return entry_base(
        event,
        "channel_read",
        summary=f"read {event.posts} post(s) of #{event.channel}",
        channel=event.channel,
        meta={"posts": event.posts, "before": event.before, "cycle_id": event.cycle_id},
    )


@entry_for.register
def _(event: BoardCreated) -> dict[str, Any]:
    return entry_base(
        event,
        "board_created",
        summary=f"created #{event.board}" + (f": {event.description}" if event.description else ""),
        channel=event.board,
        meta={"posting": event.posting.value},
    )


@entry_for.register
def _(event: BoardJoined) -> dict[str, Any]:
    return entry_base(event, "board_joined", summary=f"joined #{event.board}", channel=event.board)


@entry_for.register
def _(event: BoardLeft) -> dict[str, Any]:
    return entry_base(event, "board_left", summary=f"left #{event.board}", channel=event.board)


@entry_for.register
def _(event: CronExecuted) -> dict[str, Any]:
    said = event.error or event.output or event.command_output
    return entry_base(
        event,
        "cron_executed",
        content=event.output or None,
        summary=f"{event.task}: {event.outcome.value}" + (f": {summary_of(said)}" if said else ""),
        meta={"cycle_id": event.cycle_id, "task": event.task, "outcome": event.outcome.value},
    )


@entry_for.register
def _(event: HeartbeatFinished) -> dict[str, Any]:
    return entry_base(
        event,
        "heartbeat_end",
        summary=f"heartbeat {event.outcome.value}"
        + (f": {len(event.found)} finding(s)" if event.found else ""),
        meta={
            "cycle_id": event.cycle_id,
            "outcome": event.outcome.value,
            "found": list(event.found),
            "fire_at": event.fire_at.isoformat() if event.fire_at else None,
        },
    )


@entry_for.register
def _(event: HumanNotifyRequested) -> dict[str, Any]:
    return entry_base(
        event,
        "human_notify",
        content=event.body,
        summary=f"[{event.priority.value}] {event.subject}",
        via="human_notification",
        meta={"dedup_key": event.dedup_key, "priority": event.priority.value, "cycle_id": event.cycle_id},
    )


@entry_for.register
def _(event: HumanNotified) -> dict[str, Any]:
    # Delivery bookkeeping per channel: a quiet entry, like memory_write.
    said = f"repeat of {event.duplicate_of}, not sent again" if event.duplicate_of else "delivered"
    return entry_base(
        event,
        "human_notify_delivered",
        summary=f"notification via {event.channel}: {said}",
        via=event.channel,
        meta={"request_id": event.request_id, "attempts": event.attempts, "duplicate_of": event.duplicate_of},
    )


@entry_for.register
def _(event: HumanNotifyFailed) -> dict[str, Any]:
    return entry_base(
        event,
        "human_notify_failed",
        summary=f"notification via {event.channel} failed after {event.attempts} attempts: {event.reason}",
        via=event.channel,
        meta={"request_id": event.request_id, "attempts": event.attempts},
    )


@entry_for.register
def _(event: TaskDelegated) -> dict[str, Any]:
    return entry_base(
        event,
        "task_delegated",
        content=event.instruction,
        summary=f"delegated {event.task_id} to {event.assignee}: {summary_of(event.instruction)}",
        to=event.assignee,
        via="anima",
        meta={
            "task_id": event.task_id,
            "assignee_task_id": event.assignee_task_id,
            "deadline": event.deadline,
            "thread_id": event.thread_id,
        },
    )


@entry_for.register
def _(event: TaskReported) -> dict[str, Any]:
    return entry_base(
        event,
        "task_reported",
        content=event.summary,
        summary=f"reported {event.task_id} {event.outcome.value} to {event.supervisor}",
        to=event.supervisor,
        via="anima",
        meta={
            "task_id": event.task_id,
            "supervisor_task_id": event.supervisor_task_id,
            "outcome": event.outcome.value,
            "thread_id": event.thread_id,
        },
    )
