"""Work across the organization: tasks delegated down the hierarchy and reports coming back up.

A supervisor's ``delegate_task`` creates a task in its own store (state ``delegated``) and asks
outbound to deliver a ``task`` message to a direct subordinate; outbound records
``task.delegated`` on the supervisor's subject when it does. The subordinate's
``report_task`` goes back the same way as a ``report`` message, and outbound records
``task.reported`` on the subordinate's subject (seed 003 §4.10 ``task_delegated`` and
``task_reported``).
"""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from animas_contracts.envelope import Event
from animas_contracts.messaging import ReportOutcome, TaskLink


class TaskDelegated(Event, frozen=True, kw_only=True, tag="task.delegated"):
    """A supervisor's task reached its subordinate (recorded on the supervisor's subject)."""

    task_id: Annotated[str, Meta(description="The task in the supervisor's store.")]
    assignee: Annotated[str, Meta(description="The direct subordinate it went to.")]
    assignee_task_id: Annotated[str, Meta(description="The task in the subordinate's store.")]
    instruction: Annotated[str, Meta(description="What the subordinate was asked to do.")]
    thread_id: Annotated[str, Meta(description="The thread the task and its report travel in.")]
    deadline: Annotated[str | None, Meta(description="ISO 8601 time it is due by, if any.")] = None
    request_id: Annotated[str, Meta(description="Id of the outbound.requested that carried it.")]


class TaskAssigned(Event, frozen=True, kw_only=True, tag="task.assigned"):
    """A delegated task reached its assignee: starts a task cycle (recorded on the assignee's subject).

    outbound publishes it after delivering the ``task`` message (its id derived from the
    request's). agent-runner runs task cycles from it on a lane of their own, so a task never
    waits behind the cycle of the supervisor that delegated it (and waits for its report).
    """

    message_id: Annotated[str, Meta(description="Id of the task's message.received in the assignee's inbox.")]
    supervisor: Annotated[str, Meta(description="The anima that delegated the task.")]
    instruction: Annotated[str, Meta(description="What the assignee is asked to do.")]
    thread_id: Annotated[str, Meta(description="The thread the task and its report travel in.")]
    task: Annotated[TaskLink, Meta(description="The link between the two task stores.")]
    hops: Annotated[int, Meta(description="The hops of the task message.")] = 0
    request_id: Annotated[str, Meta(description="Id of the outbound.requested that carried it.")]


class TaskReported(Event, frozen=True, kw_only=True, tag="task.reported"):
    """A subordinate's report reached its supervisor (recorded on the subordinate's subject)."""

    task_id: Annotated[str, Meta(description="The task in the subordinate's store.")]
    supervisor: Annotated[str, Meta(description="The anima the report went to.")]
    supervisor_task_id: Annotated[str, Meta(description="The task in the supervisor's store it moves.")]
    outcome: Annotated[ReportOutcome, Meta(description="done, failed or blocked.")]
    summary: Annotated[str, Meta(description="What the subordinate reported.")]
    thread_id: Annotated[str, Meta(description="The task's thread.")]
    request_id: Annotated[str, Meta(description="Id of the outbound.requested that carried it.")]


class ReportTaken(Event, frozen=True, kw_only=True, tag="task.report.taken"):
    """A supervisor's waiting ``delegate_task`` received a report inside its cycle.

    Its id is derived from the report message's id. The report message still arrives in the
    supervisor's inbox afterwards; finding this event, the inbox moves the task but does not wake
    the supervisor a second time for a report it has already read.
    """

    report_id: Annotated[str, Meta(description="Id of the report's message.received.")]
    task_id: Annotated[str, Meta(description="The supervisor's task the report moves.")]
    cycle_id: Annotated[str, Meta(description="The cycle whose delegate_task took it.")]
