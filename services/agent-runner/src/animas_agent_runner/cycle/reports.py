"""A report on a delegated task reaching the supervisor: it moves the task, then wakes the anima.

The report arrives as the supervisor's ``message.received`` of kind ``report``, on its partition
lane. Who sent it is authoritative (outbound sets the sender from the subject the request was
published on); the task link is the sender's word, so the supervisor's task moves only when it
is a delegation to that very sender. The move's id is derived from the report's, so a
redelivery asks once. A report that a waiting ``delegate_task`` already read in its cycle
(``task.report.taken``, id derived from the report) moves the task but wakes no second cycle.
"""

from __future__ import annotations

import logging
from typing import Protocol

from animas_agent_runner import domain
from animas_agent_runner.ports import MemoryStore
from animas_contracts import (
    MemoryOpRequested,
    MessageOrigin,
    MessageReceived,
    ReportOutcome,
    TaskRecord,
    TaskRelation,
    TaskState,
    TransitionTask,
    derive_id,
)
from animas_core.broker import EventSink
from animas_core.policy import Delivery

_log = logging.getLogger(__name__)

TAKEN = "task.report.taken"
_STATE = {
    ReportOutcome.DONE: TaskState.DONE,
    ReportOutcome.FAILED: TaskState.FAILED,
    ReportOutcome.BLOCKED: TaskState.BLOCKED,
}
_FINAL = frozenset({TaskState.DONE, TaskState.FAILED, TaskState.CANCELLED})


class StoredAfter(Protocol):
    """Whether an event of one anima and type, by id, was stored after a stream sequence."""

    async def __call__(self, anima: str, event_type: str, event_id: str, after_seq: int) -> bool:
        """True when it is stored."""
        ...


def taken_id(report_id: str) -> str:
    """Id of the ``task.report.taken`` a waiting ``delegate_task`` publishes for a report."""
    return derive_id(report_id, "taken")


def report_move(report: MessageReceived, tasks: list[TaskRecord]) -> MemoryOpRequested | None:
    """The move of the supervisor's task a report asks for; None when there is nothing to move."""
    link = report.task
    if link is None or report.origin is not MessageOrigin.ANIMA:
        # Only outbound delivers reports (origin anima); a person's message is never one.
        return None
    task = next((t for t in tasks if t.task_id == link.supervisor_task_id), None)
    if task is None or task.relation is not TaskRelation.DELEGATED_BY_ME or task.counterpart != report.sender:
        _log.warning(
            "a report about a task not delegated to its sender; the task is not moved",
            extra={"message_id": report.id, "sender": report.sender, "task_id": link.supervisor_task_id},
        )
        return None
    target = _STATE[link.outcome or ReportOutcome.DONE]
    if task.state is target or task.state in _FINAL:
        return None
    return MemoryOpRequested(
        id=derive_id(report.id, "report", "task"),
        anima=report.anima,
        correlation_id=report.correlation_id,
        causation_id=report.id,
        producer=domain.PRODUCER,
        op=TransitionTask(task_id=task.task_id, to=target, note=report.text[:2000]),
    )


class ReportInbox:
    """Settles a report before its cycle: moves the task; says whether the anima is to wake."""

    def __init__(self, *, memory: MemoryStore, publisher: EventSink, stored: StoredAfter) -> None:
        self._memory = memory
        self._publisher = publisher
        self._stored = stored

    async def settle(self, report: MessageReceived, delivery: Delivery) -> bool:
        """Move the supervisor's task; True when the report should wake it (not read yet)."""
        move = report_move(report, await self._memory.tasks(report.anima))
        if move is not None:
            await self._publisher.publish(move)
        taken = await self._stored(report.anima, TAKEN, taken_id(report.id), delivery.stream_seq or 0)
        if taken:
            _log.info("a waiting delegate_task already read this report", extra={"message_id": report.id})
        return not taken
