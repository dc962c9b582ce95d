"""Delegated tasks and consolidation runs, each folded from the stored events that record it.

A delegation is known by the supervisor's task id. ``task.delegated`` (on the supervisor's
subject) says it reached the assignee; ``task.assigned`` (on the assignee's) carries the same
link; ``task.reported`` (on the assignee's) ends it with an outcome; ``task.report.taken`` (on the
supervisor's) says the supervisor read that report inside its cycle. Its state is ``delegated``
until a report comes, then the report's outcome (``done``, ``failed``, ``blocked``); a later
report replaces an earlier one (blocked, then done).

A consolidation run is known by its run id: ``consolidation.started`` opens it,
``consolidation.planned`` records its decisions, ``consolidation.finished`` closes it with counts.
A run started and not finished is ``running`` (or was stopped before it could record its end).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime

from animas_contracts import (
    ConsolidationFinished,
    ConsolidationPlanned,
    ConsolidationStarted,
    ReportTaken,
    TaskAssigned,
    TaskDelegated,
    TaskReported,
)
from animas_gateway.api.stored_reads import Stored

DELEGATED = "delegated"
TASK_STATES = (DELEGATED, "done", "failed", "blocked")
RUNNING = "running"
RUN_OUTCOMES = (RUNNING, "ok", "not_built", "failed")
_COUNTS = ("created", "merged", "superseded", "skipped", "summarised", "forgotten", "procedures", "revised")


@dataclasses.dataclass(frozen=True)
class Report:
    """The latest report on a delegated task."""

    outcome: str
    summary: str
    time: datetime
    taken: bool
    """The supervisor read it inside the cycle that was waiting for it."""


@dataclasses.dataclass(frozen=True)
class Delegation:
    """A task one anima delegated to another, as far as the stream tells."""

    first_seq: int
    task_id: str
    """The supervisor's task id."""
    supervisor: str
    assignee: str
    assignee_task_id: str | None
    title: str
    thread_id: str | None
    deadline: str | None
    time: datetime
    """When it was delegated (or first seen)."""
    updated: datetime
    report: Report | None = None

    @property
    def state(self) -> str:
        return DELEGATED if self.report is None else self.report.outcome


def delegations(stored: Iterable[Stored]) -> list[Delegation]:
    """Every delegation the events tell of, in the order each was first seen."""
    found: dict[tuple[str, str], Delegation] = {}
    taken: set[tuple[str, str]] = set()
    for item in stored:
        event = item.event
        match event:
            case TaskDelegated():
                key = (event.anima, event.task_id)
                known = found.get(key)
                base = Delegation(
                    first_seq=item.seq if known is None else known.first_seq,
                    task_id=event.task_id,
                    supervisor=event.anima,
                    assignee=event.assignee,
                    assignee_task_id=event.assignee_task_id,
                    title=event.instruction,
                    thread_id=event.thread_id,
                    deadline=event.deadline,
                    time=event.ts if known is None else known.time,
                    updated=event.ts if known is None else max(known.updated, event.ts),
                    report=None if known is None else known.report,
                )
                found[key] = base
            case TaskAssigned():
                key = (event.task.supervisor, event.task.supervisor_task_id)
                if key not in found:
                    found[key] = Delegation(
                        first_seq=item.seq,
                        task_id=event.task.supervisor_task_id,
                        supervisor=event.task.supervisor,
                        assignee=event.anima,
                        assignee_task_id=event.task.task_id,
                        title=event.instruction,
                        thread_id=event.thread_id,
                        deadline=event.task.deadline,
                        time=event.ts,
                        updated=event.ts,
                    )
            case TaskReported():
                key = (event.supervisor, event.supervisor_task_id)
                known = found.get(key)
                report = Report(event.outcome.value, event.summary, event.ts, False)
                if known is None:
                    found[key] = Delegation(
                        first_seq=item.seq,
                        task_id=event.supervisor_task_id,
                        supervisor=event.supervisor,
                        assignee=event.anima,
                        assignee_task_id=event.task_id,
                        title="",
                        thread_id=event.thread_id,
                        deadline=None,
                        time=event.ts,
                        updated=event.ts,
                        report=report,
                    )
                else:
                    found[key] = dataclasses.replace(
                        known, report=report, updated=max(known.updated, event.ts)
                    )
            case ReportTaken():
                taken.add((event.anima, event.task_id))
    return [
        dataclasses.replace(d, report=dataclasses.replace(d.report, taken=True))
        if d.report is not None and (d.supervisor, d.task_id) in taken
        else d
        for d in found.values()
    ]


def involving(items: Iterable[Delegation], anima: str | None, state: str | None) -> list[Delegation]:
    """The delegations ``anima`` made or received (all when None) in ``state`` (any when None)."""
    return [
        d
        for d in items
        if (anima is None or anima in (d.supervisor, d.assignee)) and (state is None or d.state == state)
    ]


@dataclasses.dataclass(frozen=True)
class Run:
    """One consolidation run, as far as the stream tells."""

    first_seq: int
    run_id: str
    anima: str
    kind: str
    date: str | None
    started: datetime | None
    finished: datetime | None
    outcome: str
    method: str | None
    model: str | None
    planned: int | None
    """How many decisions its plan held, when the plan was recorded."""
    counts: dict[str, int]
    error: str | None

    @property
    def summary(self) -> str:
        """What the run did, in one line."""
        head = f"{self.kind} {self.date}" if self.date else self.kind
        if self.outcome == RUNNING:
            plan = "" if self.planned is None else f", {self.planned} decisions planned"
            return f"{head}: started, not finished{plan}"
        if self.outcome != "ok":
            return f"{head}: {self.outcome}" + (f": {self.error}" if self.error else "")
        done = [f"{n} {name}" for name, n in self.counts.items() if n]
        how = f" ({self.method})" if self.method and self.method != "none" else ""
        return f"{head}: {', '.join(done) if done else 'nothing to change'}{how}"


def consolidation_runs(stored: Iterable[Stored]) -> list[Run]:
    """Every run the events tell of, in the order each was first seen."""
    runs: dict[tuple[str, str], Run] = {}
    for item in stored:
        event = item.event
        if not isinstance(event, ConsolidationStarted | ConsolidationPlanned | ConsolidationFinished):
            continue
        key = (event.anima, event.run_id)
        run = runs.get(key) or Run(
            first_seq=item.seq,
            run_id=event.run_id,
            anima=event.anima,
            kind="",
            date=None,
            started=None,
            finished=None,
            outcome=RUNNING,
            method=None,
            model=None,
            planned=None,
            counts={},
            error=None,
        )
        match event:
            case ConsolidationStarted():
                run = dataclasses.replace(run, kind=event.kind.value, date=event.date, started=event.ts)
            case ConsolidationPlanned():
                run = dataclasses.replace(
                    run, method=run.method or event.method.value, model=run.model or event.model,
                    planned=len(event.decisions),
                )  # fmt: skip
            case ConsolidationFinished():
                run = dataclasses.replace(
                    run,
                    kind=event.kind.value,
                    date=event.date,
                    finished=event.ts,
                    outcome=event.status.value,
                    method=event.method.value,
                    model=event.model,
                    counts={name: getattr(event, name) for name in _COUNTS},
                    error=event.error,
                )
        runs[key] = run
    return list(runs.values())
