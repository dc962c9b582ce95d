"""Long tool calls go to the background (toolbox/background.py; issue #17 item 4).

The slow tool waits on an event the test sets, and the thresholds are hundredths of a second, so
no test sleeps for the time a real slow call takes.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from animas_agent_runner.ports import ToolCall
from animas_agent_runner.toolbox.background import (
    INTERRUPTED_GONE,
    BackgroundTasks,
    background_threshold,
    orphans,
    recover_orphans,
    task_id_for,
)
from animas_agent_runner.toolbox.context import ToolContext
from animas_agent_runner.toolbox.errors import ToolFailed
from animas_agent_runner.toolbox.registry import Args, Tool
from animas_agent_runner.toolbox.surface import ToolSurface
from animas_contracts import (
    BackgroundStatus,
    Event,
    ToolBackgroundFinished,
    ToolStatus,
    ToolUsed,
    derive_id,
)
from animas_core.config_model import BackgroundTaskConfig, EligibleTool
from animas_core.permissions import parse_permissions

PERMISSIONS = "## Available Tools\n- slow_fetch\n- quick_fetch\n"


class Published:
    def __init__(self) -> None:
        self.events: list[Event] = []

    async def publish(self, event: Event) -> None:
        self.events.append(event)

    def of(self, cls: type[Event]) -> list[Any]:
        return [e for e in self.events if isinstance(e, cls)]


class FetchArgs(Args, frozen=True, kw_only=True):
    url: str


class Gate:
    """A slow outside service: a call returns (or fails) when the test says so."""

    def __init__(self) -> None:
        self.opened = asyncio.Event()
        self.fail: str | None = None
        self.calls = 0

    async def run(self, ctx: ToolContext, args: Any, ordinal: int) -> str:
        self.calls += 1
        await self.opened.wait()
        if self.fail is not None:
            raise ToolFailed(self.fail)
        return f"page at {args.url}"


def _tool(name: str, gate: Gate, *, own: bool = False) -> Tool:
    return Tool(name, "Fetch a page.", FetchArgs, gate.run, own=own, external=not own)


def _context(publisher: Published) -> ToolContext:
    nothing: Any = None
    return ToolContext(
        anima="sample",
        cycle_id="cycle-1",
        correlation_id="corr-1",
        thread_id="thread",
        trigger="Message received (from tanaka)",
        permissions=parse_permissions(PERMISSIONS),
        memory=nothing,
        search=nothing,
        ops=nothing,
        channels=nothing,
        publisher=publisher,
        workspace=None,
        now=lambda: datetime(2026, 12, 7, 9, 0, tzinfo=UTC),
    )


def _config(**thresholds: float) -> BackgroundTaskConfig:
    return BackgroundTaskConfig(
        eligible_tools={name: EligibleTool(threshold_s=s) for name, s in thresholds.items()}
    )


def _call(name: str = "slow_fetch") -> ToolCall:
    return ToolCall(id="call-1", name=name, arguments={"url": "https://example.org/report"})


def test_threshold_is_per_listed_tool_and_never_for_own_tools_or_when_disabled() -> None:
    config = _config(http_fetch=30)
    assert background_threshold(config, "http_fetch", own=False) == 30
    assert background_threshold(config, "web_search", own=False) is None
    assert background_threshold(config, "http_fetch", own=True) is None
    disabled = BackgroundTaskConfig(enabled=False, eligible_tools=config.eligible_tools)
    assert background_threshold(disabled, "http_fetch", own=False) is None


async def test_a_call_past_its_threshold_returns_a_handle_and_its_result_is_recorded_later() -> None:
    published, gate = Published(), Gate()
    tasks = BackgroundTasks(published)
    surface = ToolSurface(
        _context(published), (_tool("slow_fetch", gate),), background=(tasks, _config(slow_fetch=0.01))
    )

    result = await surface.run(_call())

    task_id = task_id_for("cycle-1", 0)
    assert not result.is_error
    assert task_id in result.content and "background" in result.content
    (used,) = published.of(ToolUsed)
    assert used.status is ToolStatus.OK and used.background_task == task_id
    assert published.of(ToolBackgroundFinished) == []  # still running: nothing recorded yet
    assert tasks.running == (task_id,)

    gate.opened.set()
    await tasks.wait()

    (finished,) = published.of(ToolBackgroundFinished)
    assert finished.id == derive_id(task_id, "finished")
    assert (finished.task_id, finished.cycle_id, finished.tool) == (task_id, "cycle-1", "slow_fetch")
    assert finished.anima == "sample" and finished.correlation_id == "corr-1"
    assert finished.status is BackgroundStatus.OK and finished.error is None
    assert finished.result == "page at https://example.org/report"
    assert finished.arguments == {"url": "https://example.org/report"} and finished.call_id == "call-1"
    assert not tasks.running and gate.calls == 1


async def test_a_call_that_ends_in_time_is_an_ordinary_result() -> None:
    published, gate = Published(), Gate()
    gate.opened.set()
    tasks = BackgroundTasks(published)
    surface = ToolSurface(
        _context(published), (_tool("slow_fetch", gate),), background=(tasks, _config(slow_fetch=5))
    )

    result = await surface.run(_call())

    assert result.content == "page at https://example.org/report"
    (used,) = published.of(ToolUsed)
    assert used.background_task is None
    assert published.of(ToolBackgroundFinished) == [] and tasks.running == ()


async def test_a_tool_not_listed_is_awaited_however_long_it_takes() -> None:
    published, gate = Published(), Gate()
    tasks = BackgroundTasks(published)
    surface = ToolSurface(
        _context(published), (_tool("quick_fetch", gate),), background=(tasks, _config(slow_fetch=0.01))
    )

    pending = asyncio.ensure_future(surface.run(_call("quick_fetch")))
    await asyncio.sleep(0.05)
    assert not pending.done()  # no threshold: the cycle waits for it
    gate.opened.set()
    result = await pending
    assert result.content == "page at https://example.org/report"
    assert published.of(ToolBackgroundFinished) == []


async def test_a_background_failure_is_recorded_as_an_error() -> None:
    published, gate = Published(), Gate()
    tasks = BackgroundTasks(published)
    surface = ToolSurface(
        _context(published), (_tool("slow_fetch", gate),), background=(tasks, _config(slow_fetch=0.01))
    )
    await surface.run(_call())

    gate.fail = "slow_fetch timed out"
    gate.opened.set()
    await tasks.wait()

    (finished,) = published.of(ToolBackgroundFinished)
    assert finished.status is BackgroundStatus.ERROR and finished.error == "slow_fetch timed out"
    assert finished.result == ""


async def test_stopping_agent_runner_records_a_running_call_as_interrupted() -> None:
    published, gate = Published(), Gate()
    tasks = BackgroundTasks(published)
    surface = ToolSurface(
        _context(published), (_tool("slow_fetch", gate),), background=(tasks, _config(slow_fetch=0.01))
    )
    await surface.run(_call())

    await tasks.close()

    (finished,) = published.of(ToolBackgroundFinished)
    assert finished.status is BackgroundStatus.INTERRUPTED
    assert finished.error == "agent-runner stopped while it ran"
    assert tasks.running == ()


async def test_a_long_result_is_bounded_in_its_event() -> None:
    published = Published()
    tasks = BackgroundTasks(published)

    async def long_text(ctx: ToolContext, args: Any, ordinal: int) -> str:
        await asyncio.sleep(0.05)
        return "x" * 10_000

    tool = Tool("slow_fetch", "Fetch.", FetchArgs, long_text, own=False, external=True)
    surface = ToolSurface(_context(published), (tool,), background=(tasks, _config(slow_fetch=0.01)))
    await surface.run(_call())
    await tasks.wait()

    (finished,) = published.of(ToolBackgroundFinished)
    assert len(finished.result) < 4_100 and finished.result.endswith("(cut)")


# --- a killed agent-runner: its calls recorded as interrupted by a live one ---------------------


class Ledger:
    """The stream's handovers and ends, and the processes whose health records are current."""

    def __init__(self, handed: list[ToolUsed], finished: set[str], live: set[str]) -> None:
        self.handed, self.ended, self.live = handed, finished, live
        self.since: list[datetime] = []

    async def handed_over(self, since: datetime) -> list[ToolUsed]:
        self.since.append(since)
        return self.handed

    async def finished(self, since: datetime) -> set[str]:
        return self.ended

    async def live_runners(self) -> set[str]:
        return self.live


def _handover(task: str, runner: str) -> ToolUsed:
    return ToolUsed(
        id=f"used-{task}",
        anima="sample",
        correlation_id="corr-1",
        producer="agent-runner",
        cycle_id="cycle-1",
        ordinal=0,
        tool="slow_fetch",
        arguments={"url": "https://example.org"},
        status=ToolStatus.OK,
        call_id="call-1",
        background_task=task,
        background_runner=runner,
    )


async def test_the_handover_names_the_process_that_runs_the_call() -> None:
    published, gate = Published(), Gate()
    tasks = BackgroundTasks(published, runner="runner-a")
    surface = ToolSurface(
        _context(published), (_tool("slow_fetch", gate),), background=(tasks, _config(slow_fetch=0.01))
    )
    await surface.run(_call())
    (used,) = published.of(ToolUsed)
    assert used.background_runner == "runner-a"
    await tasks.close()


async def test_only_a_call_of_a_gone_process_that_never_ended_is_recorded_interrupted() -> None:
    handed = [
        _handover("t-dead", "runner-gone"),
        _handover("t-done", "runner-gone"),
        _handover("t-alive", "runner-b"),
        _handover("t-mine", "runner-me"),
    ]
    ledger = Ledger(handed, finished={"t-done"}, live={"runner-b"})
    published = Published()
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)

    recovered = await recover_orphans(ledger, published, "runner-me", now, timedelta(hours=24))

    assert recovered == ["t-dead"] and ledger.since == [now - timedelta(hours=24)]
    (finished,) = published.of(ToolBackgroundFinished)
    assert finished.status is BackgroundStatus.INTERRUPTED and finished.error == INTERRUPTED_GONE
    assert finished.id == derive_id("t-dead", "finished")  # the id its own process would have used
    assert (finished.anima, finished.correlation_id, finished.cycle_id) == ("sample", "corr-1", "cycle-1")
    assert orphans(handed, {"t-done", "t-dead"}, {"runner-b", "runner-me"}) == []


async def test_a_redelivered_cycle_does_not_start_a_call_this_process_still_runs() -> None:
    published, gate = Published(), Gate()
    tasks = BackgroundTasks(published)
    for _ in range(2):  # the cycle, then its redelivery: same cycle id, same ordinal
        surface = ToolSurface(
            _context(published), (_tool("slow_fetch", gate),), background=(tasks, _config(slow_fetch=0.01))
        )
        result = await surface.run(_call())
        assert task_id_for("cycle-1", 0) in result.content
    assert gate.calls == 1
    gate.opened.set()
    await tasks.wait()
    assert len(published.of(ToolBackgroundFinished)) == 1
