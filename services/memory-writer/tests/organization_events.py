"""One event of every organization type, with the activity-log entry type each becomes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from animas_contracts import (
    BoardCreated,
    BoardJoined,
    BoardLeft,
    ChannelPosted,
    ChannelRead,
    CronExecuted,
    CronOutcome,
    Event,
    GuardRule,
    HeartbeatFinished,
    HeartbeatOutcome,
    HumanNotified,
    HumanNotifyFailed,
    HumanNotifyRequested,
    MessagingRefused,
    NotifyPriority,
    OutboundDelivered,
    OutboundFailed,
    OutboundKind,
    ReportOutcome,
    TaskDelegated,
    TaskReported,
    ToolStatus,
    ToolUsed,
)


def organization_events(anima: str, at: datetime, prefix: str = "e") -> list[tuple[str, Event]]:
    """(entry type, event) for every entry type of an anima's dealings with others and its clock."""
    env: dict[str, Any] = {"anima": anima, "correlation_id": f"{prefix}-c", "producer": "test", "ts": at}

    def i(n: int) -> str:
        return f"{prefix}-{n}"

    return [
        (
            "tool_use",
            ToolUsed(
                id=i(1),
                cycle_id="cy",
                ordinal=0,
                tool="search_memory",
                arguments={"query": "q"},
                status=ToolStatus.OK,
                **env,
            ),
        ),
        (
            "dm_sent",
            OutboundDelivered(
                id=i(2),
                request_id="r1",
                kind=OutboundKind.MESSAGE,
                to="bob",
                delivered_id="d1",
                text="Can you check the numbers?",
                **env,
            ),
        ),
        (
            "error",
            OutboundFailed(
                id=i(3),
                request_id="r2",
                kind=OutboundKind.MESSAGE,
                to="nobody",
                reason="there is no anima named 'nobody'",
                **env,
            ),
        ),
        (
            "message_refused",
            MessagingRefused(
                id=i(4),
                request_id="r3",
                rule=GuardRule.BILATERAL,
                to="bob",
                thread_id="t",
                reason="7th message in 10 minutes",
                **env,
            ),
        ),
        (
            "channel_post",
            ChannelPosted(
                id=i(5), channel="general", text="Release is out @all", thread_id="t", request_id="r4", **env
            ),
        ),
        ("channel_read", ChannelRead(id=i(6), channel="general", posts=3, **env)),
        ("board_created", BoardCreated(id=i(7), board="launch", description="Launch work", **env)),
        ("board_joined", BoardJoined(id=i(8), board="launch", **env)),
        ("board_left", BoardLeft(id=i(9), board="launch", **env)),
        (
            "cron_executed",
            CronExecuted(
                id=i(10),
                cycle_id="cy2",
                task="Daily report",
                outcome=CronOutcome.RAN,
                output="All green.",
                **env,
            ),
        ),
        (
            "heartbeat_end",
            HeartbeatFinished(id=i(11), cycle_id="cy3", outcome=HeartbeatOutcome.OK, fire_at=at, **env),
        ),
        (
            "human_notify",
            HumanNotifyRequested(
                id=i(12),
                subject="Deploy blocked",
                body="The migration fails.",
                priority=NotifyPriority.HIGH,
                dedup_key="k",
                **env,
            ),
        ),
        ("human_notify_delivered", HumanNotified(id=i(13), request_id=i(12), channel="ntfy", **env)),
        (
            "human_notify_failed",
            HumanNotifyFailed(
                id=i(14), request_id=i(12), channel="slack", attempts=3, reason="HTTP 500", **env
            ),
        ),
        (
            "task_delegated",
            TaskDelegated(
                id=i(15),
                task_id="t-1",
                assignee="bob",
                assignee_task_id="t-2",
                instruction="Sum up Q3 sales",
                thread_id="task:t-1",
                request_id="r5",
                **env,
            ),
        ),
        (
            "task_reported",
            TaskReported(
                id=i(16),
                task_id="t-2",
                supervisor="mgr",
                supervisor_task_id="t-1",
                outcome=ReportOutcome.DONE,
                summary="Q3 sales rose 12%",
                thread_id="task:t-1",
                request_id="r6",
                **env,
            ),
        ),
    ]
