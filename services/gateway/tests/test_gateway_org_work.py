"""Organization work from stored events, no server: threads, delegations, consolidation runs, paging."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from animas_contracts import (
    ConsolidationFinished,
    ConsolidationKind,
    ConsolidationMethod,
    ConsolidationPlanned,
    ConsolidationStarted,
    ConsolidationStatus,
    Event,
    MessageKind,
    MessageOrigin,
    MessageReceived,
    OutboundDelivered,
    OutboundKind,
    ReportOutcome,
    ReportTaken,
    ResponseSent,
    TaskAssigned,
    TaskDelegated,
    TaskLink,
    TaskReported,
)
from animas_gateway.api.boards import board_names
from animas_gateway.api.stored_reads import Stored, page_before
from animas_gateway.api.threads import (
    conversation_messages,
    thread_cursor,
    thread_messages,
    thread_summaries,
    threads_after,
)
from animas_gateway.api.work_state import consolidation_runs, delegations, involving

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def stored(*events: Event) -> list[Stored]:
    return [Stored(seq, event) for seq, event in enumerate(events, start=1)]


def env(anima: str, minutes: int, id: str) -> dict[str, Any]:
    return {"anima": anima, "correlation_id": "c", "producer": "test", "id": id, "ts": at(minutes)}


def received(id: str, minutes: int, sender: str, thread: str, text: str, **kw: Any) -> MessageReceived:
    return MessageReceived(**env("alice", minutes, id), text=text, sender=sender, thread_id=thread, **kw)


def answered(id: str, minutes: int, to: str, thread: str, text: str, deliver: bool = False) -> ResponseSent:
    return ResponseSent(
        **env("alice", minutes, id), text=text, in_reply_to="m", to=to, thread_id=thread, deliver=deliver
    )


def delivered(id: str, minutes: int, request_id: str, to: str, thread: str, text: str) -> OutboundDelivered:
    return OutboundDelivered(
        **env("alice", minutes, id),
        request_id=request_id,
        kind=OutboundKind.MESSAGE,
        to=to,
        delivered_id=f"d-{id}",
        text=text,
        intent=MessageKind.MESSAGE,
        thread_id=thread,
    )


def conversation() -> list[Stored]:
    """Alice talks with a person in one thread and asks bob something in another."""
    return stored(
        received("m1", 0, "human", "dm:human", "hello"),
        answered("r1", 1, "human", "dm:human", "hi there"),
        delivered("o1", 2, "req-1", "bob", "ask-bob", "what is the plan?"),
        received(
            "m2", 3, "bob", "ask-bob", "the plan is X", origin=MessageOrigin.ANIMA, kind=MessageKind.REPLY
        ),
        received("m3", 4, "bob", "ask-bob", "anything else?", origin=MessageOrigin.ANIMA),
        answered("r3", 5, "bob", "ask-bob", "no, thanks", deliver=True),
        # outbound carrying the answer to bob: the same message, counted once (as the response)
        delivered("o3", 5, "r3", "bob", "ask-bob", "no, thanks"),
        received("m4", 6, "human", "dm:human", "bye"),
    )


def test_messages_in_and_out_are_grouped_by_thread_most_recent_first() -> None:
    messages = conversation_messages("alice", conversation())
    summaries = thread_summaries(messages)
    assert [(s.thread_id, s.peer, s.messages, s.last_time) for s in summaries] == [
        ("dm:human", "human", 3, at(6)),
        ("ask-bob", "bob", 4, at(5)),
    ]
    bob = thread_messages(messages, "ask-bob")
    assert [(m.direction, m.sender, m.peer, m.text, m.kind) for m in bob] == [
        ("out", "alice", "bob", "what is the plan?", "message"),
        ("in", "bob", "bob", "the plan is X", "reply"),
        ("in", "bob", "bob", "anything else?", "message"),
        ("out", "alice", "bob", "no, thanks", "answer"),
    ]
    assert [m.seq for m in bob] == [3, 4, 5, 6]


def test_thread_cursor_pages_through_threads_in_order() -> None:
    summaries = thread_summaries(conversation_messages("alice", conversation()))
    rest = threads_after(summaries, thread_cursor(summaries[0]))
    assert [s.thread_id for s in rest] == ["ask-bob"]
    assert threads_after(summaries, thread_cursor(summaries[1])) == []
    with pytest.raises(ValueError):
        threads_after(summaries, "not-a-cursor")
    with pytest.raises(ValueError):
        threads_after(summaries, "2026-03-01T09:00:00+00:00.3")


def link(outcome: ReportOutcome | None = None) -> TaskLink:
    return TaskLink(
        supervisor="alice", supervisor_task_id="t-a", task_id="t-b", assignee="bob", outcome=outcome
    )


def delegation_events(*reports: tuple[ReportOutcome, str, int]) -> list[Event]:
    events: list[Event] = [
        TaskDelegated(
            **env("alice", 0, "del"),
            task_id="t-a",
            assignee="bob",
            assignee_task_id="t-b",
            instruction="Write the summary",
            thread_id="task-1",
            deadline="2026-03-02T00:00:00+00:00",
            request_id="req",
        ),
        TaskAssigned(
            **env("bob", 0, "asg"),
            message_id="msg",
            supervisor="alice",
            instruction="Write the summary",
            thread_id="task-1",
            task=link(),
            request_id="req",
        ),
    ]
    for outcome, summary, minutes in reports:
        events.append(
            TaskReported(
                **env("bob", minutes, f"rep-{minutes}"),
                task_id="t-b",
                supervisor="alice",
                supervisor_task_id="t-a",
                outcome=outcome,
                summary=summary,
                thread_id="task-1",
                request_id=f"req-{minutes}",
            )
        )
    return events


def test_a_delegation_is_delegated_until_its_report_gives_the_outcome() -> None:
    (open_task,) = delegations(stored(*delegation_events()))
    assert (open_task.task_id, open_task.supervisor, open_task.assignee) == ("t-a", "alice", "bob")
    assert (open_task.state, open_task.title, open_task.report) == ("delegated", "Write the summary", None)
    assert open_task.assignee_task_id == "t-b" and open_task.time == at(0)

    events = delegation_events((ReportOutcome.BLOCKED, "need data", 10), (ReportOutcome.DONE, "written", 20))
    taken = ReportTaken(**env("alice", 21, "tk"), report_id="msg-r", task_id="t-a", cycle_id="cy")
    (done,) = delegations(stored(*events, taken))
    assert done.state == "done" and done.updated == at(20)
    assert done.report is not None
    assert (done.report.summary, done.report.time, done.report.taken) == ("written", at(20), True)


def test_a_report_whose_delegation_is_not_stored_still_counts() -> None:
    events = delegation_events((ReportOutcome.FAILED, "could not", 5))[2:]
    (lone,) = delegations(stored(*events))
    assert (lone.task_id, lone.supervisor, lone.assignee, lone.state, lone.title) == (
        "t-a",
        "alice",
        "bob",
        "failed",
        "",
    )


def test_tasks_filter_by_either_side_and_by_state() -> None:
    found = delegations(stored(*delegation_events()))
    assert len(involving(found, "alice", None)) == len(involving(found, "bob", None)) == 1
    assert involving(found, "carol", None) == []
    assert len(involving(found, None, "delegated")) == 1 and involving(found, None, "done") == []


def run_events() -> list[Event]:
    return [
        ConsolidationStarted(
            **env("alice", 0, "s1"),
            run_id="run-1",
            kind=ConsolidationKind.DAILY,
            date="2026-02-28",
            sources=12,
        ),
        ConsolidationPlanned(**env("alice", 1, "p1"), run_id="run-1", method=ConsolidationMethod.FALLBACK),
        ConsolidationFinished(
            **env("alice", 2, "f1"),
            run_id="run-1",
            kind=ConsolidationKind.DAILY,
            date="2026-02-28",
            status=ConsolidationStatus.OK,
            method=ConsolidationMethod.FALLBACK,
            created=2,
            merged=1,
        ),
        ConsolidationStarted(
            **env("alice", 10, "s2"),
            run_id="run-2",
            kind=ConsolidationKind.WEEKLY,
            date=None,
        ),
        ConsolidationFinished(
            **env("bob", 11, "f3"),
            run_id="run-3",
            kind=ConsolidationKind.DAILY,
            date="2026-02-28",
            status=ConsolidationStatus.FAILED,
            error="identity.md unreadable",
        ),
    ]


def test_consolidation_runs_are_summarised_from_their_events() -> None:
    one, two, three = consolidation_runs(stored(*run_events()))
    assert (one.run_id, one.outcome, one.started, one.finished) == ("run-1", "ok", at(0), at(2))
    assert one.counts["created"] == 2 and one.planned == 0
    assert one.summary == "daily 2026-02-28: 2 created, 1 merged (fallback)"
    assert (two.outcome, two.finished, two.summary) == ("running", None, "weekly: started, not finished")
    assert (three.anima, three.outcome, three.started) == ("bob", "failed", None)
    assert three.summary == "daily 2026-02-28: failed: identity.md unreadable"


def test_pages_go_newest_first_and_the_cursor_continues_after_the_last() -> None:
    items = [5, 1, 9, 3, 7]
    page, cursor = page_before(items, lambda n: n, None, 2)
    assert (page, cursor) == ([9, 7], "7")
    page, cursor = page_before(items, lambda n: n, int("7"), 2)
    assert (page, cursor) == ([5, 3], "3")
    assert page_before(items, lambda n: n, 3, 2) == ([1], None)


def test_general_is_always_listed_first() -> None:
    assert board_names(["ops", "general", "dev", "ops"]) == ["general", "dev", "ops"]
