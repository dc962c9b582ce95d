"""Results of tool calls that went on in the background, shown in the next cycle's priming, once.

agent-runner records how a background call ended as ``tool.background.finished``; memory-writer
logs it as a ``background_result`` entry in the anima's activity log. The task channel (E) shows
such a result to the first cycle primed after it, and priming records that with
``priming.background.delivered`` (logged as ``background_delivered``; its id is derived from the
task, so a redelivered cycle's priming records it once). A result delivered to one cycle is never
shown to another; the same cycle primed again (a redelivery) sees it again. Results older than the
retention (``background_task.result_retention_hours``, 24 by default) are dropped, on the
injected clock.

Which cycle a result went to is decided in the log's order (the stream's): the first delivery
entry of a task wins. Between priming's record and memory-writer logging it, this process's own
record of what it delivered covers the gap.

A prime finds the due results with the other reads (:meth:`BackgroundDeliveries.due`) and records
them (:meth:`BackgroundDeliveries.record`) only once the rest of its reply is assembled, so a prime
that fails afterwards has recorded nothing it did not show.

An external tool's result comes fenced as untrusted content; a result cut for the prompt keeps its
closing marker (:func:`close_fence`), so outside text never runs on unfenced into the prompt.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime, timedelta

from animas_contracts import BackgroundResultDelivered, derive_id
from animas_core.broker import EventSink
from animas_priming.domain.budget import TokenCounter, fit

TITLE = "Background task results (each shown once; it will not be shown again)"
BUDGET_TOKENS = 800
"""At most this much of the task channel goes to background results."""
LINE_CHARS = 1_500
"""A result longer than this is cut in the prompt (the event keeps more)."""
PRODUCER = "priming"
EXTERNAL_OPEN = "<external_content>"
EXTERNAL_CLOSE = "</external_content>"
"""The untrusted-content fence around an external tool's result. The same text as agent-runner's
``animas_agent_runner.prompt.untrusted`` (which priming may not import; the markers are in neither
contracts nor core)."""
CUT = " … (cut)"
_log = logging.getLogger(__name__)

ReadFile = Callable[[str, str], Awaitable[str | None]]


@dataclasses.dataclass(frozen=True)
class BackgroundResult:
    """One ``background_result`` entry of the activity log."""

    task_id: str
    tool: str
    status: str
    finished: datetime
    result: str
    error: str | None


def log_days(now: datetime, retention: timedelta) -> list[str]:
    """The activity-log files that may hold a result within the retention, in any time zone.

    Files are named by the anima's local day: a day either side of the UTC window covers any zone.
    """
    first = (now - retention - timedelta(days=1)).date()
    last = (now + timedelta(days=1)).date()
    return [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]


def entries_of(texts: Iterable[str | None]) -> list[dict[str, object]]:
    """The JSON entries of activity-log files, in order; malformed lines are skipped."""
    entries: list[dict[str, object]] = []
    for text in texts:
        for raw in (text or "").splitlines():
            try:
                entry = json.loads(raw)
            except json.JSONDecodeError:
                continue
            if isinstance(entry, dict):
                entries.append(entry)
    return entries


def due_results(
    entries: Iterable[Mapping[str, object]],
    *,
    cycle_id: str,
    now: datetime,
    retention: timedelta,
    delivered_here: Mapping[str, str] | None = None,
) -> list[BackgroundResult]:
    """The results ``cycle_id`` is shown: within the retention, delivered to no other cycle.

    ``delivered_here`` (task id -> cycle id) adds this process's deliveries not yet in the log.
    """
    delivered: dict[str, str] = {}
    results: dict[str, BackgroundResult] = {}
    for entry in entries:
        meta = entry.get("meta")
        if not isinstance(meta, dict) or not isinstance(meta.get("task_id"), str):
            continue
        task_id = str(meta["task_id"])
        if entry.get("type") == "background_delivered":
            delivered.setdefault(task_id, str(meta.get("cycle_id")))  # the first, in stream order
        elif entry.get("type") == "background_result":
            finished = _when(entry)
            if finished is None or not timedelta(0) <= now - finished <= retention:
                continue
            error = meta.get("error")
            results.setdefault(
                task_id,
                BackgroundResult(
                    task_id=task_id,
                    tool=str(entry.get("tool", "")),
                    status=str(meta.get("status", "")),
                    finished=finished,
                    result=str(entry.get("content") or ""),
                    error=str(error) if error else None,
                ),
            )
    for task_id, cycle in (delivered_here or {}).items():
        delivered.setdefault(task_id, cycle)
    return [r for r in results.values() if delivered.get(r.task_id, cycle_id) == cycle_id]


def close_fence(text: str) -> str:
    """``text`` with a closing marker after its last opening one, if a cut took it off.

    agent-runner's own cut of a long result (``RESULT_CHARS``) can have taken it off already.
    """
    opened = text.rfind(EXTERNAL_OPEN)
    if opened < 0 or EXTERNAL_CLOSE in text[opened:]:
        return text
    return f"{text}\n{EXTERNAL_CLOSE}"


def result_line(result: BackgroundResult) -> str:
    """One result for the prompt: cut to :data:`LINE_CHARS`, the fence of an external one kept."""
    head = f"- task {result.task_id} ({result.tool}, finished {result.finished:%Y-%m-%d %H:%M} UTC)"
    if result.status != "ok":
        return f"{head}: {result.status.upper()}: {result.error or 'no result'}"
    text = result.result if len(result.result) <= LINE_CHARS else result.result[:LINE_CHARS] + CUT
    return f"{head}:\n{close_fence(text)}"


def results_section(results: list[BackgroundResult], counter: TokenCounter) -> tuple[str, list[str]]:
    """The section's Markdown within :data:`BUDGET_TOKENS`, and the task ids it shows."""
    ordered = sorted(results, key=lambda r: r.finished)
    items = [result_line(r) for r in ordered]
    lines, _ = fit(items, BUDGET_TOKENS, counter)
    if not lines:
        return "", []
    if lines[0] != items[0]:
        # fit cut the first result to the budget: cut it to leave room for the closing marker.
        room = BUDGET_TOKENS - counter.count(f"{CUT}\n{EXTERNAL_CLOSE}")
        lines[0] = close_fence(counter.truncate(items[0], max(room, 0)) + CUT)
    return f"## {TITLE}\n\n" + "\n".join(lines), [r.task_id for r in ordered[: len(lines)]]


class BackgroundDeliveries:
    """Finds a cycle's background results and records that it was shown them."""

    def __init__(self, publisher: EventSink, retention: Callable[[], timedelta]) -> None:
        self._publisher = publisher
        self._retention = retention
        self._delivered: dict[str, tuple[str, datetime]] = {}

    async def section(
        self, read: ReadFile, anima: str, cycle_id: str | None, now: datetime, counter: TokenCounter
    ) -> str:
        """The section for ``cycle_id`` (empty without one or without results), recorded as shown."""
        if cycle_id is None:
            return ""
        due = await self.due(read, anima, cycle_id, now)
        return await self.record(anima, cycle_id, due, now, counter)

    async def due(
        self, read: ReadFile, anima: str, cycle_id: str | None, now: datetime
    ) -> list[BackgroundResult]:
        """The results ``cycle_id`` may be shown (none without a cycle id); nothing is recorded."""
        if cycle_id is None:
            return []
        retention = self._retention()
        texts = await asyncio.gather(
            *(read(anima, f"activity_log/{d}.jsonl") for d in log_days(now, retention))
        )
        self._forget(now, retention)
        here = {task: cycle for task, (cycle, _) in self._delivered.items()}
        return due_results(
            entries_of(texts), cycle_id=cycle_id, now=now, retention=retention, delivered_here=here
        )

    async def record(
        self,
        anima: str,
        cycle_id: str,
        due: list[BackgroundResult],
        now: datetime,
        counter: TokenCounter,
        timeout_s: float | None = None,
    ) -> str:
        """Record the results of ``due`` that fit as shown to ``cycle_id``; the section of those recorded.

        Call it when the section goes into the reply for sure: what it records is never shown again.
        """
        _, shown = results_section(due, counter)
        recorded: list[str] = []
        try:
            async with asyncio.timeout(timeout_s):
                for task_id in shown:
                    await self._publisher.publish(
                        BackgroundResultDelivered(
                            id=derive_id(task_id, "delivered"),
                            anima=anima,
                            correlation_id=cycle_id,
                            causation_id=cycle_id,
                            producer=PRODUCER,
                            task_id=task_id,
                            cycle_id=cycle_id,
                        )
                    )
                    self._delivered.setdefault(task_id, (cycle_id, now))
                    recorded.append(task_id)
        except Exception:
            # Shown only once recorded: what is not recorded waits for the next cycle.
            _log.warning("could not record a background result as shown", exc_info=True)
        text, _ = results_section([r for r in due if r.task_id in recorded], counter)
        return text

    def _forget(self, now: datetime, retention: timedelta) -> None:
        """Past the retention a result is not shown anyway: its record here can go."""
        for task_id, (_, when) in list(self._delivered.items()):
            if now - when > retention:
                del self._delivered[task_id]


def _when(entry: Mapping[str, object]) -> datetime | None:
    try:
        ts = datetime.fromisoformat(str(entry.get("ts")))
    except ValueError:
        return None
    return ts if ts.tzinfo is not None else None
