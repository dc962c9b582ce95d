"""Notifying a person: ``notify_human`` asks outbound to reach the configured channels.

Who may: a top-level anima (no ``supervisor`` in its status.json) when
``human_notification.enabled`` is on; an anima with a supervisor only when permissions.md lists
``notify_human`` under Available Tools; nobody when it is listed under Unavailable Tools. Where
it is not allowed the tool is not offered, and a call is refused with the reason.

The request's id is derived from the cycle and the call, so a redelivered cycle asks once; its
``dedup_key`` (a digest of subject and body, case and spacing aside) lets outbound send the same
notification once within 24 hours.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

from animas_agent_runner.domain import PRODUCER
from animas_agent_runner.ports import MemoryReader
from animas_agent_runner.toolbox.context import ToolContext
from animas_agent_runner.toolbox.errors import ToolFailed
from animas_agent_runner.toolbox.registry import Args, Tool
from animas_contracts import HumanNotifyRequested, NotifyPriority
from animas_core.config import HumanNotificationConfig
from animas_core.permissions import Permissions

NOTIFY_TOOL = "notify_human"
MAX_SUBJECT_CHARS = 200
MAX_BODY_CHARS = 4_000
NOT_ENABLED = "notifying people is not enabled (human_notification.enabled in config.json)"
"""The refusal until the cycle has checked config, status and permissions (:func:`gated`)."""


class NotifyHumanArgs(Args, frozen=True, kw_only=True):
    """Arguments of notify_human."""

    subject: str
    body: str
    priority: NotifyPriority = NotifyPriority.NORMAL


def dedup_key(subject: str, body: str) -> str:
    """The digest of a notification's words: equal for texts differing only in case or spacing."""
    words = "\n".join(" ".join(part.split()).casefold() for part in (subject, body))
    return hashlib.sha256(words.encode()).hexdigest()


def notify_refusal(
    section: HumanNotificationConfig, status_json: str | None, permissions: Permissions
) -> str | None:
    """Why this anima may not notify people now; None when it may.

    Args:
        section: config.json's ``human_notification``.
        status_json: The anima's status.json (its ``supervisor`` makes it not top level).
        permissions: Its permissions.md (an explicit grant or denial of ``notify_human``).
    """
    if not section.enabled:
        return NOT_ENABLED
    if not any(channel.enabled for channel in section.channels):
        return "no notification channel is configured (human_notification.channels in config.json)"
    denial = permissions.tool_allowed(NOTIFY_TOOL, own_tool=True)
    if denial is not None:
        return denial
    supervisor = _supervisor(status_json)
    if supervisor is not None and NOTIFY_TOOL not in permissions.available_tools:
        return (
            f"only a top-level anima notifies people; you report to {supervisor}: tell them instead "
            "(permissions.md may grant notify_human under Available Tools)"
        )
    return None


def _supervisor(status_json: str | None) -> str | None:
    try:
        status = json.loads(status_json or "{}")
    except json.JSONDecodeError:
        return None
    supervisor = status.get("supervisor") if isinstance(status, dict) else None
    return supervisor if isinstance(supervisor, str) and supervisor.strip() else None


async def notify_human(ctx: ToolContext, args: NotifyHumanArgs, ordinal: int) -> str:
    """Ask outbound to notify the people on every configured channel."""
    subject, body = args.subject.strip(), args.body.strip()
    if not subject or not body:
        raise ToolFailed("a notification needs a subject and a body")
    if len(subject) > MAX_SUBJECT_CHARS:
        raise ToolFailed(f"the subject is {len(subject)} characters; the limit is {MAX_SUBJECT_CHARS}")
    if len(body) > MAX_BODY_CHARS:
        raise ToolFailed(
            f"the body is {len(body)} characters; the limit is {MAX_BODY_CHARS}. "
            "Say what matters and where the details are."
        )
    request = HumanNotifyRequested(
        id=ctx.effect_id(ordinal, "notify"),
        anima=ctx.anima,
        correlation_id=ctx.correlation_id,
        causation_id=ctx.cycle_id,
        producer=PRODUCER,
        subject=subject,
        body=body,
        priority=args.priority,
        dedup_key=dedup_key(subject, body),
        cycle_id=ctx.cycle_id,
    )
    await ctx.publisher.publish(request)
    return (
        f"Notification {subject!r} ({args.priority.value}) is on its way to your people. "
        "The same notification within 24 hours is sent only once: do not send it again."
    )


NOTIFY_TOOLS = (
    Tool(
        NOTIFY_TOOL,
        "Notify the people you work for (ntfy, Slack, Chatwork, email…) about something that needs "
        "their attention: a decision only they can make, a blocker, a finished result they asked "
        "for. priority: low, normal, high or urgent.",
        NotifyHumanArgs,
        notify_human,
        refusal=NOT_ENABLED,
    ),
)


def gated(tools: tuple[Tool, ...], refusal: str | None) -> tuple[Tool, ...]:
    """``tools`` with notify_human refused (not offered, a call denied) for ``refusal``."""
    return tuple(
        dataclasses.replace(tool, refusal=refusal) if tool.name == NOTIFY_TOOL else tool for tool in tools
    )


async def notify_gate(
    memory: MemoryReader, anima: str, section: HumanNotificationConfig, permissions: Permissions
) -> str | None:
    """:func:`notify_refusal` for one cycle, reading status.json only when notifications are on."""
    status = await memory.read(anima, "status.json") if section.enabled else None
    return notify_refusal(section, status, permissions)
