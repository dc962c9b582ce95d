"""notify_human (#14 item 5): who may notify people, and the request a call publishes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from animas_agent_runner.ports import ToolCall
from animas_agent_runner.toolbox.catalogue import ALL_TOOLS
from animas_agent_runner.toolbox.context import ToolContext
from animas_agent_runner.toolbox.notify_tools import (
    NOT_ENABLED,
    NOTIFY_TOOL,
    dedup_key,
    gated,
    notify_gate,
    notify_refusal,
)
from animas_agent_runner.toolbox.surface import ToolSurface
from animas_contracts import Event, HumanNotifyRequested, NotifyPriority, ToolStatus, derive_id
from animas_core.config import HumanNotificationConfig, NotificationChannel
from animas_core.permissions import parse_permissions

ON = HumanNotificationConfig(enabled=True, channels=[NotificationChannel(type="ntfy", target="alerts")])
TOP = json.dumps({"role": "manager"})
UNDER = json.dumps({"supervisor": "boss"})
GRANT = "## Available Tools\n- notify_human\n"
DENY = "## Unavailable Tools\n- notify_human\n"


class Published:
    def __init__(self) -> None:
        self.events: list[Event] = []

    async def publish(self, event: Event) -> None:
        self.events.append(event)


class Files:
    def __init__(self, status: str | None) -> None:
        self.status = status
        self.reads: list[str] = []

    async def read(self, anima: str, path: str) -> str | None:
        self.reads.append(path)
        return self.status if path == "status.json" else None


def _context(publisher: Published, permissions: str | None = None) -> ToolContext:
    nothing: Any = None
    return ToolContext(
        anima="sample",
        cycle_id="cycle-1",
        correlation_id="corr",
        thread_id="thread",
        trigger="Message received (from tanaka)",
        permissions=parse_permissions(permissions),
        memory=nothing,
        search=nothing,
        ops=nothing,
        channels=nothing,
        publisher=publisher,
        workspace=None,
        now=lambda: datetime(2026, 2, 12, 9, 0, tzinfo=UTC),
    )


def _call(**arguments: Any) -> ToolCall:
    return ToolCall(id="call-1", name=NOTIFY_TOOL, arguments=arguments)


def test_top_level_animas_may_notify_when_notifications_are_on() -> None:
    none = parse_permissions(None)
    assert notify_refusal(ON, TOP, none) is None
    assert notify_refusal(ON, None, none) is None
    assert notify_refusal(HumanNotificationConfig(), TOP, none) == NOT_ENABLED
    no_channels = HumanNotificationConfig(enabled=True)
    assert "no notification channel" in (notify_refusal(no_channels, TOP, none) or "")


def test_an_anima_with_a_supervisor_needs_an_explicit_grant_and_a_denial_wins() -> None:
    refusal = notify_refusal(ON, UNDER, parse_permissions(None)) or ""
    assert "only a top-level anima" in refusal and "boss" in refusal
    assert notify_refusal(ON, UNDER, parse_permissions(GRANT)) is None
    assert "Unavailable Tools" in (notify_refusal(ON, TOP, parse_permissions(DENY)) or "")


async def test_status_is_read_only_when_notifications_are_on() -> None:
    files = Files(UNDER)
    assert (
        await notify_gate(files, "sample", HumanNotificationConfig(), parse_permissions(None)) == NOT_ENABLED
    )
    assert files.reads == []
    assert "boss" in (await notify_gate(files, "sample", ON, parse_permissions(None)) or "")


async def test_not_offered_by_default_and_a_call_is_denied_with_the_reason() -> None:
    published = Published()
    surface = ToolSurface(_context(published), ALL_TOOLS)
    assert NOTIFY_TOOL not in [spec.name for spec in surface.specs()]
    result = await surface.run(_call(subject="s", body="b"))
    assert result.is_error and NOT_ENABLED in result.content
    assert not [e for e in published.events if isinstance(e, HumanNotifyRequested)]


async def test_a_call_publishes_one_request_with_a_derived_id_and_dedup_key() -> None:
    published = Published()
    surface = ToolSurface(_context(published), gated(ALL_TOOLS, None))
    assert NOTIFY_TOOL in [spec.name for spec in surface.specs()]
    result = await surface.run(_call(subject=" Deploy blocked ", body="Need  approval", priority="high"))
    assert not result.is_error, result.content
    (request,) = [e for e in published.events if isinstance(e, HumanNotifyRequested)]
    assert request.id == derive_id("cycle-1", "tool", 0, "notify")
    assert (request.subject, request.body, request.priority) == (
        "Deploy blocked",
        "Need  approval",
        NotifyPriority.HIGH,
    )
    assert request.dedup_key == dedup_key("deploy   BLOCKED", "need approval")
    assert request.cycle_id == "cycle-1" and request.causation_id == "cycle-1"
    assert "once" in result.content


async def test_bad_arguments_are_errors_and_publish_nothing() -> None:
    published = Published()
    surface = ToolSurface(_context(published), gated(ALL_TOOLS, None))
    empty = await surface.run(_call(subject=" ", body="x"))
    wrong = await surface.run(_call(subject="s", body="b", priority="sometime"))
    assert empty.is_error and wrong.is_error
    assert not [e for e in published.events if isinstance(e, HumanNotifyRequested)]
    statuses = [e.status for e in published.events if hasattr(e, "status")]
    assert statuses == [ToolStatus.ERROR, ToolStatus.ERROR]
