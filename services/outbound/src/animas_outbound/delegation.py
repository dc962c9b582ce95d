"""Delegation in outbound: only down one level of the org chart, and records of what went where.

A ``task`` message goes only to a direct subordinate of its sender, and a ``report`` only back
to the supervisor that delegated the task, as the org chart (every anima's status.json
``supervisor``) says when outbound delivers it: the tool's own check is a courtesy, this one is
the authority. After the delivery, :class:`DelegationRecords` adds the records: the supervisor's
``task.delegated`` and the assignee's ``task.assigned`` (which starts its task cycle) for a task,
the assignee's ``task.reported`` for a report. Every id is derived from the request's.
"""

from __future__ import annotations

from collections.abc import Sequence

from animas_contracts import (
    AnimaSummary,
    Event,
    GuardRule,
    MessageKind,
    OutboundKind,
    OutboundRequested,
    TaskAssigned,
    TaskDelegated,
    TaskReported,
    derive_id,
)
from animas_outbound import domain
from animas_outbound.ports import AnimaDirectory


def supervisor_of(name: str, animas: Sequence[AnimaSummary]) -> str | None:
    """The anima ``name`` reports to, from its status.json; None at the top or when unknown."""
    found = next((a for a in animas if a.name == name), None)
    supervisor = found.status.get("supervisor") if found is not None else None
    return supervisor if isinstance(supervisor, str) and supervisor else None


def delegation_refusal(request: OutboundRequested, animas: Sequence[AnimaSummary]) -> domain.Refusal | None:
    """Why a task or report may not go where it is addressed; None when it may (or is neither)."""
    if request.kind is not OutboundKind.MESSAGE:
        return None
    if request.intent is MessageKind.TASK:
        boss = supervisor_of(request.to, animas)
        if boss != request.anima:
            where = f"{request.to} reports to {boss}" if boss else f"{request.to} reports to no anima"
            return domain.Refusal(
                GuardRule.DELEGATION,
                f"{request.to} is not your direct subordinate ({where}); delegate only to animas "
                "that report to you",
            )
        link = request.task
        if link is None or link.supervisor != request.anima or link.assignee != request.to:
            return domain.Refusal(GuardRule.DELEGATION, "a task message must carry its own task link")
    if request.intent is MessageKind.REPORT:
        link = request.task
        if link is None or link.assignee != request.anima or link.supervisor != request.to:
            return domain.Refusal(
                GuardRule.DELEGATION,
                "a report goes only to the anima that delegated the task, about a task delegated to you",
            )
    return None


class DelegationCheck:
    """The org-chart check of tasks and reports, asked of memory-writer's list of animas."""

    def __init__(self, directory: AnimaDirectory) -> None:
        self._directory = directory

    async def __call__(self, request: OutboundRequested) -> domain.Refusal | None:
        if request.intent not in (MessageKind.TASK, MessageKind.REPORT):
            return None
        return delegation_refusal(request, await self._directory.animas())


def delegation_records(request: OutboundRequested) -> list[Event]:
    """The records a delivered task or report adds (ids derived from the request)."""
    link = request.task
    if request.kind is not OutboundKind.MESSAGE or link is None:
        return []
    if request.intent is MessageKind.TASK:
        return [
            TaskDelegated(
                id=derive_id(request.id, "task.delegated"),
                anima=request.anima,
                task_id=link.supervisor_task_id,
                assignee=request.to,
                assignee_task_id=link.task_id,
                instruction=request.text,
                thread_id=request.thread_id,
                deadline=link.deadline,
                request_id=request.id,
                correlation_id=request.correlation_id,
                causation_id=request.id,
                producer=domain.PRODUCER,
            ),
            TaskAssigned(
                id=derive_id(request.id, "task.assigned"),
                anima=request.to,
                message_id=domain.delivery_id(request.id),
                supervisor=request.anima,
                instruction=request.text,
                thread_id=request.thread_id,
                task=link,
                hops=request.hops,
                request_id=request.id,
                correlation_id=request.correlation_id,
                causation_id=request.id,
                producer=domain.PRODUCER,
            ),
        ]
    if request.intent is MessageKind.REPORT and link.outcome is not None:
        return [
            TaskReported(
                id=derive_id(request.id, "task.reported"),
                anima=request.anima,
                task_id=link.task_id,
                supervisor=request.to,
                supervisor_task_id=link.supervisor_task_id,
                outcome=link.outcome,
                summary=request.text,
                thread_id=request.thread_id,
                request_id=request.id,
                correlation_id=request.correlation_id,
                causation_id=request.id,
                producer=domain.PRODUCER,
            )
        ]
    return []


class DelegationRecords:
    """The :class:`~animas_outbound.checks.Followup` that publishes :func:`delegation_records`."""

    async def __call__(self, request: OutboundRequested) -> Sequence[Event]:
        return delegation_records(request)
