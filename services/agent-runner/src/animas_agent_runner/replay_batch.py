"""Replaying many recorded cycles: ``anima replay range``, ``anima replay incident`` and the fork.

Every ``cycle.started`` among the events on stdin is replayed the way ``anima replay cycle``
replays one (:mod:`animas_agent_runner.replay`): the prompt rebuilt by this build, the recorded
model answers, the recorded tool results. Each cycle is judged on three things (the prompt, the
tool calls, the reply) and written as JSON under ``<shadow>/cycles/``, with the printed report
in ``<shadow>/report.txt``. Nothing else is written and nothing is published: no broker is used.

Run as ``python -m animas_agent_runner.replay_command range --shadow DIR < events.jsonl`` (exit 1
when a cycle diverged).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import msgspec

from animas_agent_runner.ports import ToolCall
from animas_agent_runner.replay import (
    RecordedCycle,
    ReplayReport,
    recorded_cycle,
    replay_cycle,
    same_arguments,
    same_reply,
)
from animas_contracts import CycleStarted, Event, ToolUsed, decode_event


@dataclasses.dataclass(frozen=True)
class Verdict:
    """How one replayed cycle compares with its recording."""

    report: ReplayReport
    prompt_same: bool
    tools_same: bool
    reply_same: bool

    @property
    def diverged(self) -> bool:
        """Anything differs, or the replay left the recording (a call it lacks)."""
        return not (self.prompt_same and self.tools_same and self.reply_same) or bool(self.report.divergence)


def cycles_among(events: Iterable[Event]) -> tuple[list[RecordedCycle], list[tuple[str, str]]]:
    """The replayable cycles among ``events`` (oldest first) and the others with the reason."""
    events = list(events)
    replayable: list[RecordedCycle] = []
    skipped: list[tuple[str, str]] = []
    seen: set[str] = set()
    for event in events:
        if not isinstance(event, CycleStarted) or event.id in seen:
            continue
        seen.add(event.id)
        try:
            replayable.append(recorded_cycle(events, event.id))
        except ValueError as exc:
            skipped.append((event.id, str(exc)))
    return replayable, skipped


def same_tool_calls(recorded: Sequence[ToolUsed], replayed: Sequence[ToolCall]) -> bool:
    """The same tools with the same arguments, in the same order.

    ``tool.used`` keeps long string arguments cut with "…": those compare by their kept start.
    """
    if len(recorded) != len(replayed):
        return False
    return all(
        old.tool == new.name and same_arguments(old.arguments, new.arguments)
        for old, new in zip(recorded, replayed, strict=True)
    )


def judge(report: ReplayReport) -> Verdict:
    """Compare a replay with the recording it came from."""
    cycle = report.cycle
    recorded = cycle.reply.text if cycle.reply else None
    return Verdict(
        report=report,
        prompt_same=not report.prompt_diff,
        tools_same=same_tool_calls(cycle.tools, report.tool_calls),
        reply_same=recorded is None or same_reply(recorded, report.replayed_reply),
    )


def _word(same: bool) -> str:
    return "same" if same else "DIFFERENT"


def render_verdict(verdict: Verdict) -> list[str]:
    """A cycle's lines in the report."""
    report = verdict.report
    started = report.cycle.started
    head = (
        f"cycle {started.id} of {started.anima} at {started.ts.isoformat()}: "
        f"{'DIVERGED' if verdict.diverged else 'same'}"
    )
    lines = [
        head,
        f"  prompt: {_word(verdict.prompt_same)} ({report.recorded_tokens} → {report.current_tokens} tokens)",
        f"  tool calls: {_word(verdict.tools_same)} (recorded {_tools(report.cycle.tools)}; "
        f"replayed {_calls(report.tool_calls)})",
        f"  reply: {_word(verdict.reply_same)}",
        f"  model calls: {len(report.cycle.calls)} recorded, {report.calls_replayed} replayed",
    ]
    if report.divergence:
        lines.append(f"  diverged: {report.divergence}")
    if not verdict.reply_same:
        recorded = report.cycle.reply.text if report.cycle.reply else None
        lines += [f"    recorded: {recorded!r}", f"    replayed: {report.replayed_reply!r}"]
    lines += [f"    {line}" for line in report.prompt_diff]
    return lines


def _tools(used: Sequence[ToolUsed]) -> str:
    return ", ".join(u.tool for u in used) or "none"


def _calls(calls: Sequence[ToolCall]) -> str:
    return ", ".join(c.name for c in calls) or "none"


def cycle_record(verdict: Verdict) -> dict[str, Any]:
    """What the shadow keeps of a replayed cycle (JSON types only)."""
    report = verdict.report
    started = report.cycle.started
    return {
        "cycle_id": started.id,
        "anima": started.anima,
        "correlation_id": started.correlation_id,
        "started_at": started.ts.isoformat(),
        "diverged": verdict.diverged,
        "prompt": {"same": verdict.prompt_same, "diff": list(report.prompt_diff)},
        "tool_calls": {
            "same": verdict.tools_same,
            "recorded": [{"tool": u.tool, "arguments": u.arguments} for u in report.cycle.tools],
            "replayed": [{"tool": c.name, "arguments": c.arguments} for c in report.tool_calls],
        },
        "reply": {
            "same": verdict.reply_same,
            "recorded": report.cycle.reply.text if report.cycle.reply else None,
            "replayed": report.replayed_reply,
        },
        "model_calls": {"recorded": len(report.cycle.calls), "replayed": report.calls_replayed},
        "divergence": report.divergence,
    }


def write_json(path: Path, value: Any) -> None:
    """Write ``value`` as indented JSON (the shadow is read by people)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(msgspec.json.format(msgspec.json.encode(value)) + b"\n")


async def replay_all(cycles: Sequence[RecordedCycle], shadow: Path) -> list[Verdict]:
    """Replay each cycle against its recording; each verdict lands in ``shadow/cycles``."""
    verdicts = []
    for cycle in cycles:
        verdict = judge(await replay_cycle(cycle))
        write_json(shadow / "cycles" / f"{cycle.started.id}.json", cycle_record(verdict))
        verdicts.append(verdict)
    return verdicts


def read_events(lines: Iterable[str]) -> list[Event]:
    """Events from JSON lines (the CLI's pipe).

    Raises:
        ContractError: a line is not an event this build reads.
    """
    return [decode_event(line.encode()) for line in lines if line.strip()]


def finish(shadow: Path, lines: list[str]) -> None:
    """Print the report and keep it in the shadow."""
    text = "\n".join(lines)
    (shadow / "report.txt").write_text(text + "\n", encoding="utf-8")
    print(text)


def replay_range(events: list[Event], shadow: Path) -> int:
    """Replay every cycle among ``events``, print and keep the report; 1 when one diverged."""
    cycles, skipped = cycles_among(events)
    verdicts = asyncio.run(replay_all(cycles, shadow))
    lines = [line for v in verdicts for line in render_verdict(v)]
    lines += [f"cycle {cycle_id}: not replayed: {reason}" for cycle_id, reason in skipped]
    diverged = sum(v.diverged for v in verdicts)
    lines.append(
        f"{len(verdicts)} cycle(s) replayed: {len(verdicts) - diverged} same, {diverged} diverged, "
        f"{len(skipped)} not replayable; shadow: {shadow}"
    )
    finish(shadow, lines)
    return 1 if diverged else 0
