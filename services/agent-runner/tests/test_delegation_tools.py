"""delegate_task and report_task on the real tool surface, with fakes for memory-writer and outbound.

The fakes keep each anima's task store as memory-writer would (operations applied in order)
and answer for outbound; a report on a waited-for task arrives through the report waiter.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any, cast

import msgspec

from animas_agent_runner.cycle.delegations import delegation_finding
from animas_agent_runner.cycle.reports import ReportInbox, report_move, taken_id
from animas_agent_runner.cycle.tasks import fallback_report, task_message
from animas_agent_runner.ports import OpOutcome, SendVerdict, ToolCall
from animas_agent_runner.toolbox.catalogue import ALL_TOOLS
from animas_agent_runner.toolbox.context import ToolContext
from animas_agent_runner.toolbox.delegation_tools import assignee_task_id, report_key, report_key_of
from animas_agent_runner.toolbox.surface import ToolSurface
from animas_contracts import (
    AnimaSummary,
    CreateTask,
    Event,
    MemoryOpRequested,
    MessageKind,
    MessageOrigin,
    MessageReceived,
    OutboundRequested,
    ReportOutcome,
    ReportTaken,
    TaskAssigned,
    TaskLink,
    TaskRecord,
    TaskRelation,
    TaskState,
    TransitionTask,
)
from animas_core.permissions import parse_permissions

NOW = datetime(2026, 2, 12, 9, 0, tzinfo=UTC)
ORG = {"mgr": None, "alice": "mgr", "bob": "mgr", "carol": "bob"}


class World:
    """Every anima's task store as memory-writer keeps it, and what was published."""

    def __init__(self) -> None:
        self.tasks: dict[str, list[TaskRecord]] = {name: [] for name in ORG}
        self.published: list[Event] = []

    async def publish(self, event: Event) -> None:
        self.published.append(event)

    async def animas(self) -> list[AnimaSummary]:
        return [
            AnimaSummary(name=n, enabled=True, status={"supervisor": s} if s else {}) for n, s in ORG.items()
        ]

    async def tasks_of(self, anima: str) -> list[TaskRecord]:
        return list(self.tasks[anima])

    def apply(self, request: MemoryOpRequested) -> OpOutcome:
        op, rows = request.op, self.tasks[request.anima]
        if isinstance(op, CreateTask):
            rows.append(
                TaskRecord(
                    task_id=op.task_id,
                    title=op.title,
                    detail=op.detail,
                    relation=op.relation,
                    state=op.state,
                    counterpart=op.counterpart,
                    created_at="x",
                    updated_at="x",
                    deadline=op.deadline,
                    parent=op.parent,
                    linked_task=op.linked_task,
                )
            )
        elif isinstance(op, TransitionTask):
            index = next(i for i, t in enumerate(rows) if t.task_id == op.task_id)
            rows[index] = msgspec.structs.replace(rows[index], state=op.to, note=op.note)
        return OpOutcome(applied=True)


class Memory:
    def __init__(self, world: World) -> None:
        self.world = world

    async def animas(self) -> list[AnimaSummary]:
        return await self.world.animas()

    async def tasks(self, anima: str) -> list[TaskRecord]:
        return await self.world.tasks_of(anima)

    async def read(self, anima: str, path: str) -> str | None:
        return None

    async def listing(self, anima: str, path: str) -> list[str]:
        return []

    async def tree(self, anima: str) -> dict[str, str]:
        return {}

    async def shared(self, path: str) -> str | None:
        return None


class Ops:
    def __init__(self, world: World) -> None:
        self.world = world

    async def apply(self, request: MemoryOpRequested, timeout_s: float) -> OpOutcome:
        await self.world.publish(request)
        return self.world.apply(request)


class Outbound:
    """Delivers everything; a task to a subordinate is answered at once when ``report`` is set."""

    def __init__(self, world: World, waiter: Waiter | None = None, report: str | None = None) -> None:
        self.world = world
        self.waiter = waiter
        self.report = report
        self.sent: list[OutboundRequested] = []

    async def send(self, request: OutboundRequested, timeout_s: float) -> SendVerdict:
        self.sent.append(request)
        link = request.task
        if self.waiter and self.report and request.intent is MessageKind.TASK and link is not None:
            answered = msgspec.structs.replace(link, outcome=ReportOutcome.DONE)
            self.waiter.resolve(
                MessageReceived(
                    id="report-1",
                    anima=request.anima,
                    correlation_id="corr",
                    producer="outbound",
                    text=self.report,
                    sender=request.to,
                    thread_id=request.thread_id,
                    origin=MessageOrigin.ANIMA,
                    kind=MessageKind.REPORT,
                    task=answered,
                )
            )
        return SendVerdict(delivered=True)


class Waiter:
    def __init__(self) -> None:
        self.futures: dict[str, asyncio.Future[Event]] = {}

    def expect(self, key: str) -> asyncio.Future[Event]:
        self.futures[key] = asyncio.get_running_loop().create_future()
        return self.futures[key]

    def forget(self, key: str) -> None:
        self.futures.pop(key, None)

    def resolve(self, event: Event) -> None:
        key = report_key_of(event)
        if key is not None and key in self.futures:
            self.futures[key].set_result(event)


def _surface(
    world: World, anima: str, outbound: Outbound, waiter: Waiter | None = None, task: TaskLink | None = None
) -> ToolSurface:
    context = ToolContext(
        anima=anima,
        cycle_id=f"cycle-{anima}",
        correlation_id="corr",
        thread_id="thread",
        trigger="Message received (from tanaka)",
        permissions=parse_permissions(None),
        memory=Memory(world),
        search=cast(Any, None),
        ops=Ops(world),
        channels=cast(Any, None),
        publisher=world,
        workspace=None,
        now=lambda: NOW,
        outbound=outbound,
        reports=waiter,
        task=task,
    )
    return ToolSurface(context, ALL_TOOLS)


async def _call(surface: ToolSurface, name: str, **arguments: object) -> tuple[bool, str]:
    result = await surface.run(ToolCall(id="c", name=name, arguments=dict(arguments)))
    return result.is_error, result.content


async def test_delegating_to_a_grandchild_or_a_peer_is_refused_with_the_reason() -> None:
    world = World()
    outbound = Outbound(world)
    error, text = await _call(_surface(world, "mgr", outbound), "delegate_task", to="carol", instruction="x")
    assert error and "carol is not your direct subordinate (carol reports to bob)" in text
    assert "Your direct subordinates: alice, bob" in text
    error, text = await _call(_surface(world, "alice", outbound), "delegate_task", to="bob", instruction="x")
    assert error and "bob is not your direct subordinate (bob reports to mgr)" in text
    assert outbound.sent == [] and world.tasks["mgr"] == [] and world.tasks["alice"] == []


async def test_a_delegation_creates_the_supervisor_s_task_and_sends_a_linked_task() -> None:
    world = World()
    outbound = Outbound(world)
    error, text = await _call(
        _surface(world, "mgr", outbound),
        "delegate_task",
        to="alice",
        instruction="Collect the Q3 sales figures",
        deadline="2026-02-13T17:00",
    )
    assert not error, text
    (task,) = world.tasks["mgr"]
    assert (task.state, task.relation, task.counterpart) == (
        TaskState.DELEGATED,
        TaskRelation.DELEGATED_BY_ME,
        "alice",
    )
    assert task.deadline == "2026-02-13T17:00+00:00" and task.linked_task == assignee_task_id(task.task_id)
    (request,) = outbound.sent
    assert request.intent is MessageKind.TASK and request.to == "alice"
    assert request.task is not None and request.task.supervisor_task_id == task.task_id
    assert request.thread_id == f"task:{task.task_id}"
    assert f"Task {task.task_id} delegated to alice, due 2026-02-13T17:00+00:00" in text


async def test_waiting_returns_the_report_and_marks_it_taken() -> None:
    world, waiter = World(), Waiter()
    outbound = Outbound(world, waiter, report="Q3 was up 4%")
    error, text = await _call(
        _surface(world, "mgr", outbound, waiter), "delegate_task", to="bob", instruction="Q3?", wait=True
    )
    assert not error, text
    assert text.endswith("Report from bob (done):\nQ3 was up 4%")
    taken = [e for e in world.published if isinstance(e, ReportTaken)]
    assert [t.id for t in taken] == [taken_id("report-1")]
    assert waiter.futures == {}


async def test_a_task_cycle_may_not_wait() -> None:
    world, waiter = World(), Waiter()
    link = TaskLink(supervisor="mgr", supervisor_task_id="t-m", task_id="t-b", assignee="bob")
    surface = _surface(world, "bob", Outbound(world), waiter, task=link)
    error, text = await _call(surface, "delegate_task", to="carol", instruction="x", wait=True)
    assert error and "delegate without wait" in text


async def test_a_report_moves_the_assignee_s_task_and_goes_to_the_supervisor() -> None:
    world = World()
    world.apply(
        MemoryOpRequested(
            anima="alice",
            correlation_id="c",
            producer="t",
            op=CreateTask(
                task_id="t-a",
                title="Q3",
                relation=TaskRelation.ASSIGNED_TO_ME,
                counterpart="mgr",
                state=TaskState.IN_PROGRESS,
                linked_task="t-m",
            ),
        )
    )
    outbound = Outbound(world)
    surface = _surface(world, "alice", outbound)
    error, text = await _call(surface, "report_task", task_id="t-a", outcome="blocked", summary="No access")
    assert not error, text
    assert world.tasks["alice"][0].state is TaskState.BLOCKED
    (request,) = outbound.sent
    assert (request.to, request.intent, request.text) == ("mgr", MessageKind.REPORT, "No access")
    assert request.task is not None and request.task.outcome is ReportOutcome.BLOCKED
    assert request.task.supervisor_task_id == "t-m"
    error, text = await _call(surface, "report_task", task_id="t-zz", outcome="done", summary="x")
    assert error and "open delegated tasks: t-a" in text


def _report(sender: str = "alice", outcome: ReportOutcome = ReportOutcome.BLOCKED) -> MessageReceived:
    return MessageReceived(
        id="r1",
        anima="mgr",
        correlation_id="c",
        producer="outbound",
        text="No access to the sales database",
        sender=sender,
        thread_id="task:t-m",
        origin=MessageOrigin.ANIMA,
        kind=MessageKind.REPORT,
        task=TaskLink(
            supervisor="mgr", supervisor_task_id="t-m", task_id="t-a", assignee=sender, outcome=outcome
        ),
    )


def _delegated(state: TaskState = TaskState.DELEGATED, deadline: str | None = None) -> TaskRecord:
    return TaskRecord(
        task_id="t-m",
        title="Q3",
        detail="",
        relation=TaskRelation.DELEGATED_BY_ME,
        state=state,
        counterpart="alice",
        created_at="x",
        updated_at="x",
        deadline=deadline,
        note="No access" if state is TaskState.BLOCKED else "",
    )


def test_a_report_moves_the_supervisor_s_task_only_from_its_assignee() -> None:
    move = report_move(_report(), [_delegated()])
    assert move is not None and isinstance(move.op, TransitionTask)
    assert (move.op.task_id, move.op.to) == ("t-m", TaskState.BLOCKED)
    again = report_move(_report(), [_delegated()])
    assert again is not None and again.id == move.id  # derived id: asked once
    assert report_move(_report(sender="bob"), [_delegated()]) is None
    assert report_move(_report(), [_delegated(TaskState.DONE)]) is None
    # A person's message shaped like a report (not delivered by outbound) moves nothing.
    assert report_move(msgspec.structs.replace(_report(), origin=MessageOrigin.HUMAN), [_delegated()]) is None


async def test_a_report_a_waiting_cycle_took_moves_the_task_but_wakes_no_one() -> None:
    world = World()
    world.tasks["mgr"].append(_delegated())
    seen: list[tuple[str, str, str, int]] = []

    async def stored(anima: str, event_type: str, event_id: str, after_seq: int) -> bool:
        seen.append((anima, event_type, event_id, after_seq))
        return event_id == taken_id("r1")

    inbox = ReportInbox(memory=Memory(world), publisher=world, stored=stored)
    delivery = cast(Any, type("D", (), {"stream_seq": 12})())
    assert await inbox.settle(_report(), delivery) is False
    assert seen == [("mgr", "task.report.taken", taken_id("r1"), 12)]
    assert [type(e.op).__name__ for e in world.published if isinstance(e, MemoryOpRequested)] == [
        "TransitionTask"
    ]


def test_overdue_and_blocked_delegations_are_heartbeat_findings() -> None:
    due = "2026-02-12T08:00:00+00:00"
    overdue = delegation_finding(_delegated(deadline=due), NOW)
    assert overdue == (
        "overdue:t-m",
        f'Task "Q3" delegated to alice was due {due} and is not reported yet.',
    )
    assert delegation_finding(_delegated(deadline="2026-02-12T10:00:00+00:00"), NOW) is None
    blocked = delegation_finding(_delegated(TaskState.BLOCKED), NOW)
    assert blocked == ("blocked:t-m", 'Task "Q3" delegated to alice is blocked: No access')


def test_a_task_cycle_without_report_task_is_reported_from_its_answer() -> None:
    assigned = TaskAssigned(
        anima="alice",
        correlation_id="c",
        producer="outbound",
        message_id="m1",
        supervisor="mgr",
        instruction="Q3?",
        thread_id="task:t-m",
        task=TaskLink(supervisor="mgr", supervisor_task_id="t-m", task_id="t-a", assignee="alice"),
        hops=1,
        request_id="q",
    )
    message = task_message(assigned)
    assert (message.id, message.kind, message.sender) == ("m1", MessageKind.TASK, "mgr")
    assert "report_task" in message.text and "t-a" in message.text
    move, report = fallback_report(assigned, "Up 4%")
    assert isinstance(move.op, TransitionTask) and move.op.to is TaskState.DONE
    assert report.task is not None and report.task.outcome is ReportOutcome.DONE
    assert (report.to, report.intent, report.hops) == ("mgr", MessageKind.REPORT, 2)
    _, failed = fallback_report(assigned, None)
    assert failed.task is not None and failed.task.outcome is ReportOutcome.FAILED
    assert report_key_of(failed) is None and report_key("mgr", "t-m") == "mgr:t-m"
