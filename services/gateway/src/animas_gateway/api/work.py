"""``GET /api/tasks`` (delegations between animas) and ``GET /api/consolidations`` (memory runs).

Both are folded from stored events (:mod:`animas_gateway.api.work_state`) read by subject:
every anima's ``task.*`` events for tasks (a delegation is recorded on both animas' subjects),
one anima's (or every anima's) ``consolidation.*`` events for runs. Newest first, paged by
the stream sequence where each was first seen.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta
from nats.aio.client import Client
from starlette.requests import Request
from starlette.responses import Response

from animas_contracts.subjects import stored_activity_filter
from animas_gateway.api.stored_reads import (
    CURSOR_PARAM,
    LIMIT_PARAM,
    anima_param,
    page_before,
    query_limit,
    seq_cursor,
    stored_events,
)
from animas_gateway.api.work_state import (
    TASK_STATES,
    Delegation,
    Run,
    consolidation_runs,
    delegations,
    involving,
)
from animas_gateway.operations import Operation, Param, json_response
from animas_gateway.problems import Problem

TAG = "work"
ANIMA = Param("anima", "query", "Only those of this anima (either side of a delegation).")
STATE = Param("state", "query", "Only tasks in this state.", {"type": "string", "enum": list(TASK_STATES)})


class DelegationReport(msgspec.Struct, frozen=True, kw_only=True):
    """The assignee's latest report on a task."""

    outcome: Annotated[str, Meta(description="done, failed or blocked.")]
    summary: str
    time: Annotated[str, Meta(description="When it was reported (ISO 8601, UTC).")]
    taken: Annotated[bool, Meta(description="The supervisor read it inside the cycle waiting for it.")]


class DelegatedTask(msgspec.Struct, frozen=True, kw_only=True):
    """A task one anima delegated to another."""

    task_id: Annotated[str, Meta(description="The task in the supervisor's store.")]
    from_: Annotated[str, Meta(description="The supervisor that delegated it.")] = msgspec.field(name="from")
    to: Annotated[str, Meta(description="The subordinate it was delegated to.")]
    title: Annotated[str, Meta(description="What the subordinate was asked to do.")]
    state: Annotated[str, Meta(description="delegated until reported, then done, failed or blocked.")]
    time: Annotated[str, Meta(description="When it was delegated (ISO 8601, UTC).")]
    updated: Annotated[str, Meta(description="When it last changed.")]
    assignee_task_id: Annotated[str | None, Meta(description="The task in the subordinate's store.")]
    thread_id: str | None
    deadline: str | None
    report: DelegationReport | None


class DelegatedTaskPage(msgspec.Struct, frozen=True, kw_only=True):
    """A page of delegations, the most recently delegated first."""

    items: list[DelegatedTask]
    next_cursor: str | None


class ConsolidationRun(msgspec.Struct, frozen=True, kw_only=True):
    """One consolidation run."""

    run_id: str
    anima: str
    kind: Annotated[str, Meta(description="daily or weekly.")]
    date: Annotated[str | None, Meta(description="The day consolidated (YYYY-MM-DD).")]
    started: Annotated[str | None, Meta(description="When it started (ISO 8601, UTC).")]
    finished: Annotated[str | None, Meta(description="When it finished; null while running.")]
    outcome: Annotated[str, Meta(description="running, ok, not_built or failed.")]
    summary: Annotated[str, Meta(description="What it did, in one line.")]
    method: Annotated[str | None, Meta(description="model, fallback or none.")]
    model: str | None
    counts: Annotated[
        dict[str, int], Meta(description="What it changed: created, merged, ... (once finished).")
    ]
    error: str | None


class ConsolidationRunPage(msgspec.Struct, frozen=True, kw_only=True):
    """A page of consolidation runs, the most recently started first."""

    items: list[ConsolidationRun]
    next_cursor: str | None


def task_item(d: Delegation) -> DelegatedTask:
    """The API's view of a delegation."""
    report = d.report
    return DelegatedTask(
        task_id=d.task_id,
        from_=d.supervisor,
        to=d.assignee,
        title=d.title,
        state=d.state,
        time=d.time.isoformat(),
        updated=d.updated.isoformat(),
        assignee_task_id=d.assignee_task_id,
        thread_id=d.thread_id,
        deadline=d.deadline,
        report=None
        if report is None
        else DelegationReport(
            outcome=report.outcome, summary=report.summary, time=report.time.isoformat(), taken=report.taken
        ),
    )


def run_item(run: Run) -> ConsolidationRun:
    """The API's view of a consolidation run."""
    return ConsolidationRun(
        run_id=run.run_id,
        anima=run.anima,
        kind=run.kind,
        date=run.date,
        started=None if run.started is None else run.started.isoformat(),
        finished=None if run.finished is None else run.finished.isoformat(),
        outcome=run.outcome,
        summary=run.summary,
        method=run.method,
        model=run.model,
        counts=run.counts,
        error=run.error,
    )


def operations(nc: Client) -> list[Operation]:
    """The task and consolidation routes, reading the stream over ``nc``."""

    async def tasks(request: Request) -> Response:
        anima = anima_param(request, "anima", where="query")
        state = request.query_params.get("state") or None
        if state is not None and state not in TASK_STATES:
            raise Problem(400, f"'state' must be one of {', '.join(TASK_STATES)}", title="Bad request")
        limit, cursor = query_limit(request), seq_cursor(request)
        stored = await stored_events(nc, stored_activity_filter(event_type="task.>"))
        found = involving(delegations(stored), anima, state)
        page, next_cursor = page_before(found, lambda d: d.first_seq, cursor, limit)
        return json_response(DelegatedTaskPage(items=[task_item(d) for d in page], next_cursor=next_cursor))

    async def consolidations(request: Request) -> Response:
        anima = anima_param(request, "anima", where="query")
        limit, cursor = query_limit(request), seq_cursor(request)
        subject = stored_activity_filter(anima=anima or "*", event_type="consolidation.>")
        runs = consolidation_runs(await stored_events(nc, subject))
        page, next_cursor = page_before(runs, lambda r: r.first_seq, cursor, limit)
        return json_response(ConsolidationRunPage(items=[run_item(r) for r in page], next_cursor=next_cursor))

    return [
        Operation(
            "GET",
            "/api/tasks",
            tasks,
            "Tasks delegated between animas, with their state and report, newest first",
            TAG,
            "admin",
            response=DelegatedTaskPage,
            params=(ANIMA, STATE, CURSOR_PARAM, LIMIT_PARAM),
            errors=(400, 503),
        ),
        Operation(
            "GET",
            "/api/consolidations",
            consolidations,
            "Memory consolidation runs with their outcome and a summary, newest first",
            TAG,
            "admin",
            response=ConsolidationRunPage,
            params=(ANIMA, CURSOR_PARAM, LIMIT_PARAM),
            errors=(400, 503),
        ),
    ]
