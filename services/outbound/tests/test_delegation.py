"""Delegation in outbound: the org-chart check and the records a task or report adds."""

from __future__ import annotations

import dataclasses

import msgspec

from animas_contracts import (
    AnimaSummary,
    Event,
    GuardRule,
    MessageKind,
    MessageReceived,
    MessagingRefused,
    OutboundKind,
    OutboundRequested,
    ReportOutcome,
    TaskAssigned,
    TaskDelegated,
    TaskLink,
    TaskReported,
    encode_event,
)
from animas_core.faults import FaultPoints
from animas_outbound import domain
from animas_outbound.delegation import DelegationCheck, DelegationRecords, delegation_refusal
from animas_outbound.handlers import OutboundHandler


def _anima(name: str, supervisor: str | None = None) -> AnimaSummary:
    return AnimaSummary(name=name, enabled=True, status={"supervisor": supervisor} if supervisor else {})


ORG = [
    _anima("mgr"),
    _anima("alice", "mgr"),
    _anima("bob", "mgr"),
    _anima("carol", "bob"),
    _anima("other"),
]


def _link(supervisor: str = "mgr", assignee: str = "alice", outcome: ReportOutcome | None = None) -> TaskLink:
    return TaskLink(
        supervisor=supervisor, supervisor_task_id="t-s", task_id="t-a", assignee=assignee, outcome=outcome
    )


def _task(to: str, sender: str = "mgr", link: TaskLink | None = None) -> OutboundRequested:
    return OutboundRequested(
        anima=sender,
        correlation_id="c",
        producer="agent-runner",
        kind=OutboundKind.MESSAGE,
        to=to,
        text="Figures for Q3",
        thread_id="task:t-s",
        intent=MessageKind.TASK,
        hops=1,
        task=link or _link(sender, to),
    )


def _report(
    sender: str = "alice", to: str = "mgr", outcome: ReportOutcome = ReportOutcome.DONE
) -> OutboundRequested:
    return OutboundRequested(
        anima=sender,
        correlation_id="c",
        producer="agent-runner",
        kind=OutboundKind.MESSAGE,
        to=to,
        text="Q3 was up 4%",
        thread_id="task:t-s",
        intent=MessageKind.REPORT,
        hops=2,
        task=_link(to, sender, outcome),
    )


def test_a_task_goes_to_a_direct_subordinate() -> None:
    assert delegation_refusal(_task("alice"), ORG) is None


def test_a_grandchild_is_refused_with_whom_it_reports_to() -> None:
    refusal = delegation_refusal(_task("carol"), ORG)
    assert refusal is not None and refusal.rule is GuardRule.DELEGATION
    assert refusal.reason.startswith("carol is not your direct subordinate (carol reports to bob)")


def test_a_peer_and_a_top_level_anima_are_refused() -> None:
    peer = delegation_refusal(_task("bob", sender="alice"), ORG)
    assert peer is not None and "(bob reports to mgr)" in peer.reason
    top = delegation_refusal(_task("other"), ORG)
    assert top is not None and "(other reports to no anima)" in top.reason


def test_a_task_link_that_names_someone_else_is_refused() -> None:
    assert delegation_refusal(_task("alice", link=_link("bob", "alice")), ORG) is not None


def test_a_report_goes_only_back_to_the_delegating_supervisor() -> None:
    assert delegation_refusal(_report(), ORG) is None
    stray = msgspec.structs.replace(_report(), to="bob")
    refusal = delegation_refusal(stray, ORG)
    assert refusal is not None and refusal.rule is GuardRule.DELEGATION


def test_a_plain_message_is_not_the_check_s_business() -> None:
    plain = OutboundRequested(
        anima="alice",
        correlation_id="c",
        producer="p",
        kind=OutboundKind.MESSAGE,
        to="carol",
        text="hi",
        thread_id="t",
    )
    assert delegation_refusal(plain, ORG) is None


async def test_the_records_of_a_task_and_a_report_have_derived_ids() -> None:
    records = DelegationRecords()
    task = _task("alice")
    delegated, assigned = await records(task)
    assert isinstance(delegated, TaskDelegated) and isinstance(assigned, TaskAssigned)
    assert (delegated.anima, delegated.task_id, delegated.assignee_task_id) == ("mgr", "t-s", "t-a")
    assert (assigned.anima, assigned.supervisor, assigned.message_id) == (
        "alice",
        "mgr",
        domain.delivery_id(task.id),
    )
    assert [e.id for e in await records(task)] == [delegated.id, assigned.id]
    (reported,) = await records(_report(outcome=ReportOutcome.BLOCKED))
    assert isinstance(reported, TaskReported) and reported.outcome is ReportOutcome.BLOCKED
    assert (reported.anima, reported.supervisor, reported.supervisor_task_id) == ("alice", "mgr", "t-s")


class _Sink:
    def __init__(self) -> None:
        self.events: list[Event] = []

    async def publish(self, event: Event) -> None:
        self.events.append(event)


class _Directory:
    async def animas(self) -> list[AnimaSummary]:
        return ORG


class _Log:
    async def settled(self, request_id: str) -> bool:
        return False

    async def record(self, request_id: str, outcome: str) -> None:
        return None


@dataclasses.dataclass
class _Delivery:
    data: bytes
    subject: str
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    deliveries: int = 1
    stream: str | None = "ACTIVITY"
    stream_seq: int | None = 7

    async def ack(self) -> None: ...
    async def nak(self, delay_s: float) -> None: ...
    async def term(self) -> None: ...
    async def in_progress(self) -> None: ...


async def _handle(request: OutboundRequested) -> list[Event]:
    sink = _Sink()

    async def stored(event: Event, after_seq: int) -> bool:
        return False

    directory = _Directory()
    handler = OutboundHandler(
        publisher=sink,
        directory=directory,
        stored=stored,
        log=_Log(),
        faults=FaultPoints(""),
        checks=[DelegationCheck(directory)],
        followups=[DelegationRecords()],
    )
    data = encode_event(request)
    await handler(data, _Delivery(data=data, subject=f"activity.0.{request.anima}.outbound.requested"))
    return sink.events


async def test_a_delivered_task_reaches_the_inbox_then_its_records() -> None:
    events = await _handle(_task("alice"))
    assert [e.event_type for e in events] == [
        "message.received",
        "task.delegated",
        "task.assigned",
        "outbound.delivered",
    ]
    received = events[0]
    assert isinstance(received, MessageReceived) and received.kind is MessageKind.TASK
    assert received.task is not None and received.task.task_id == "t-a"


async def test_a_refused_delegation_is_a_refusal_event_and_a_failure() -> None:
    events = await _handle(_task("carol"))
    assert [e.event_type for e in events] == ["messaging.refused", "outbound.failed"]
    refused = events[0]
    assert isinstance(refused, MessagingRefused) and refused.rule is GuardRule.DELEGATION
