"""The task lane: a delegated task's cycle in its assignee, and the report that always follows.

outbound records ``task.assigned`` on the assignee's subject when it delivers a ``task``
message. This lane consumes it on durables of its own (``agent-runner-tasks-p<p>``), not on the
partition's message lane: a supervisor whose ``delegate_task`` waits for the report holds its
partition's message lane, and a subordinate in the same partition must still be able to work.

The task becomes the assignee's own (``assigned_to_me``, linked to the supervisor's task, in
progress), then one task cycle runs with the instruction as its task. The model ends it with
``report_task``; if the cycle ends with the task still open, this lane files the report itself
(``done`` with the final answer, ``failed`` when there was none), so a supervisor is never left
waiting. Every id is derived from the ``task.assigned`` event, so a redelivery does each once.
"""

from __future__ import annotations

import logging

from animas_agent_runner import domain
from animas_agent_runner.cycle.runner import CycleRunner
from animas_agent_runner.ports import MemoryOps, MemoryStore, ReplyLedger
from animas_agent_runner.prompt import PromptTrigger
from animas_contracts import (
    ContractError,
    CreateTask,
    MemoryOpRequested,
    MessageKind,
    MessageOrigin,
    MessageReceived,
    OutboundKind,
    OutboundRequested,
    ReportOutcome,
    TaskAssigned,
    TaskLink,
    TaskRelation,
    TaskState,
    TransitionTask,
    derive_id,
    validate_anima_name,
)
from animas_contracts.names import InvalidAnimaName
from animas_core.broker import EventSink
from animas_core.errors import PoisonMessage, RetryableError
from animas_core.policy import Delivery
from animas_core.provenance import decode_delivered

_log = logging.getLogger(__name__)

NO_ANSWER = "I could not carry out the task: my cycle ended without an answer (see my activity log)."
OPEN = frozenset({TaskState.PENDING, TaskState.IN_PROGRESS})


def task_text(assigned: TaskAssigned) -> str:
    """What the assignee reads as its task: who handed it over, its id and deadline, and the work."""
    link = assigned.task
    due = f", due {link.deadline}" if link.deadline else ""
    return (
        f"Task `{link.task_id}` from {assigned.supervisor}{due}. When you are done, call "
        f"`report_task` with task_id `{link.task_id}`.\n\n{assigned.instruction}"
    )


def task_message(assigned: TaskAssigned) -> MessageReceived:
    """The inbox message the task cycle runs as (same id as the one outbound delivered)."""
    return MessageReceived(
        id=assigned.message_id,
        anima=assigned.anima,
        correlation_id=assigned.correlation_id,
        causation_id=assigned.id,
        producer=domain.PRODUCER,
        text=task_text(assigned),
        sender=assigned.supervisor,
        thread_id=assigned.thread_id,
        origin=MessageOrigin.ANIMA,
        kind=MessageKind.TASK,
        hops=assigned.hops,
        task=assigned.task,
    )


def own_task(assigned: TaskAssigned) -> MemoryOpRequested:
    """The assignee's copy of the task, in progress from the start."""
    link = assigned.task
    first = assigned.instruction.strip().splitlines()[0] if assigned.instruction.strip() else "Task"
    return MemoryOpRequested(
        id=derive_id(assigned.id, "task"),
        anima=assigned.anima,
        correlation_id=assigned.correlation_id,
        causation_id=assigned.id,
        producer=domain.PRODUCER,
        op=CreateTask(
            task_id=link.task_id,
            title=first[:80],
            detail=assigned.instruction,
            relation=TaskRelation.ASSIGNED_TO_ME,
            counterpart=assigned.supervisor,
            state=TaskState.IN_PROGRESS,
            deadline=link.deadline,
            linked_task=link.supervisor_task_id,
        ),
    )


def fallback_report(assigned: TaskAssigned, reply: str | None) -> tuple[MemoryOpRequested, OutboundRequested]:
    """The report this lane files when the cycle ended without ``report_task``."""
    outcome = ReportOutcome.DONE if reply and reply.strip() else ReportOutcome.FAILED
    summary = reply.strip() if reply and reply.strip() else NO_ANSWER
    link = assigned.task
    cycle_id = domain.cycle_id_for(assigned.message_id)
    move = MemoryOpRequested(
        id=derive_id(assigned.id, "report", "task"),
        anima=assigned.anima,
        correlation_id=assigned.correlation_id,
        causation_id=assigned.id,
        producer=domain.PRODUCER,
        op=TransitionTask(task_id=link.task_id, to=TaskState(outcome.value), note=summary[:2000]),
        cycle_id=cycle_id,
    )
    report = OutboundRequested(
        id=derive_id(assigned.id, "report"),
        anima=assigned.anima,
        correlation_id=assigned.correlation_id,
        causation_id=assigned.id,
        producer=domain.PRODUCER,
        kind=OutboundKind.MESSAGE,
        to=assigned.supervisor,
        text=summary,
        thread_id=assigned.thread_id,
        cycle_id=cycle_id,
        intent=MessageKind.REPORT,
        hops=assigned.hops + 1,
        pair_depth=1,
        task=TaskLink(
            supervisor=link.supervisor,
            supervisor_task_id=link.supervisor_task_id,
            task_id=link.task_id,
            assignee=link.assignee,
            deadline=link.deadline,
            outcome=outcome,
        ),
    )
    return move, report


class TaskCycles:
    """Handles ``task.assigned``: the assignee's task, its cycle, and a report in every case."""

    def __init__(
        self,
        *,
        runner: CycleRunner,
        publisher: EventSink,
        memory: MemoryStore,
        ops: MemoryOps,
        ledger: ReplyLedger,
        op_timeout_s: float,
    ) -> None:
        self._runner = runner
        self._publisher = publisher
        self._memory = memory
        self._ops = ops
        self._ledger = ledger
        self._op_timeout_s = op_timeout_s

    async def __call__(self, data: bytes, delivery: Delivery) -> None:
        """Handle one delivery of a ``task.assigned``."""
        event = decode_delivered(delivery.subject, data)
        try:
            validate_anima_name(event.anima)
        except InvalidAnimaName as exc:
            raise PoisonMessage(str(exc)) from None
        if not isinstance(event, TaskAssigned):
            raise ContractError(f"expected task.assigned, got {event.event_type}")
        await self.run(event, delivery)

    async def run(self, assigned: TaskAssigned, delivery: Delivery) -> None:
        """Take the task on, run its cycle, and make sure it is reported."""
        created = await self._ops.apply(own_task(assigned), self._op_timeout_s)
        if created.applied is None:
            raise RetryableError("memory-writer did not confirm the assigned task in time")
        if created.applied is False and "already exists" not in (created.reason or ""):
            _log.warning("the assigned task was not stored", extra={"reason": created.reason})
        message = task_message(assigned)
        reply: str | None = None
        answered = delivery.deliveries > 1 and await self._ledger.reply_exists(
            assigned.anima, domain.reply_id_for(message.id), after_seq=delivery.stream_seq or 0
        )
        if not answered:
            reply = await self._runner.answer(message, delivery, trigger=PromptTrigger.TASK, history=False)
        task = next(
            (t for t in await self._memory.tasks(assigned.anima) if t.task_id == assigned.task.task_id), None
        )
        if task is not None and task.state not in OPEN:
            return
        move, report = fallback_report(assigned, reply)
        if task is not None:
            await self._publisher.publish(move)
        await self._publisher.publish(report)
        _log.info(
            "the task cycle ended without report_task; reported it",
            extra={"task_id": assigned.task.task_id, "supervisor": assigned.supervisor},
        )
