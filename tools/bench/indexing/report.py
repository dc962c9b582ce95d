"""The benchmark's section of ``docs/benchmarks.md`` (the other sections are kept as they are)."""

from __future__ import annotations

from pathlib import Path

from animas_tools.bench_report import machine, percentile
from animas_tools.bench_report import write_section as write_report_section

from .run import FACT, FACT_QUERY, IndexingRun

HEADING = "## Index throughput"
TARGET_DRAIN_S = 5.0


def _rate(events: int, seconds: float | None) -> str:
    return f"{events / seconds:.1f}" if seconds else "n/a"


def numbers(run: IndexingRun) -> dict[str, str]:
    """The headline figures, by name (the summary and the table show the same)."""
    began, ended, drained = run.burst_began, run.burst_ended, run.drained
    produced = (ended.indexed + ended.lag) - (began.indexed + began.lag)
    indexed_burst = ended.indexed - began.indexed
    ok = [c.seconds for c in run.chats if c.ok]
    figures = {
        "chats": f"{len(run.chats)} ({len(run.chats) - len(ok)} failed) in {run.burst_s:.1f} s",
        "chat latency": f"p50 {percentile(ok, 50):.2f} s, p95 {percentile(ok, 95):.2f} s" if ok else "n/a",
        "memory changes during the burst": f"{produced} ({_rate(produced, run.burst_s)}/s)",
        "indexed during the burst": f"{indexed_burst} events ({_rate(indexed_burst, run.burst_s)} events/s)",
        "lag at the end of the burst": f"{ended.lag} events (peak {run.peak_lag})",
    }
    if drained is None:
        figures["drain"] = f"not caught up within {run.params.drain_timeout_s:g} s"
    else:
        drained_events = drained.indexed - ended.indexed
        verdict = "meets" if (run.drain_s or 0.0) <= TARGET_DRAIN_S else "misses"
        figures["last reply to lag zero"] = f"{run.drain_s:.1f} s ({verdict} the {TARGET_DRAIN_S:g} s target)"
        figures["indexed during the drain"] = (
            f"{drained_events} events ({_rate(drained_events, run.drain_s)} events/s)"
        )
    figures["last chat's fact found by `anima search`"] = "yes" if run.fact_found else "NO"
    backlog = run.backlog
    if backlog is not None:
        figures["catch-up: changes stored at once"] = f"{backlog.changes} in {backlog.publish_s:.1f} s"
        figures["catch-up: all indexed after"] = (
            f"{backlog.seconds:.1f} s ({_rate(backlog.indexed, backlog.seconds)} events/s, index lag peak"
            f" {backlog.peak_lag})"
            if backlog.seconds is not None
            else f"not within {run.params.drain_timeout_s:g} s"
        )
    return figures


def render(run: IndexingRun, commands: list[str]) -> str:
    """The Markdown section."""
    p = run.params
    rows = [f"| {name} | {value} |" for name, value in numbers(run).items()]
    found = [line for line in run.search_output.splitlines() if line.strip()][:3]
    lines = [
        HEADING,
        "",
        f"Run {run.started:%Y-%m-%d %H:%M} UTC on {machine()}; load average"
        f" {run.load_start} at the start, {run.load_end} at the end; CPU busy during the burst:"
        f" {f'{run.busy:.0f} %' if run.busy is not None else 'n/a'}. `anima up --no-local-model` in a"
        f" fresh home with the scripted LLM (instant replies), {p.animas} animas, {p.chats} chats from"
        f" {p.clients} concurrent clients (client k talks to anima k). Each chat appends an entry to its"
        " anima's episode file; priming indexes every `memory.op.applied` through one durable per"
        " activity partition, a batch at a time, embedding only new chunk text.",
        "",
        "| | |",
        "|---|---|",
        *rows,
        "",
        f'The burst\'s last chat said "{FACT}" to {run.fact_anima}; once the index had caught up,'
        f' `anima search {run.fact_anima} "{FACT_QUERY}"` answered (first lines):',
        "",
        "```text",
        *(found or ["(no output)"]),
        "```",
        "",
        "Lag is the sum of `num_pending` and unacknowledged messages over priming's partition durables"
        ' (`anima status` prints it as `index lag:`); "lag zero" also waits until agent-runner and'
        " memory-writer have nothing left that could still produce a change. Chats arrive slower"
        " than the index works, so the burst's events/s is the rate changes came in; the catch-up"
        " phase (the operator stores `episode.append` operations for every anima as fast as"
        " JetStream takes them; memory-writer applies them, priming indexes the results) shows how"
        " fast a backlog is worked off, memory-writer's share included: when the index lag peak"
        " stays small, memory-writer was the slower of the two.",
        "",
        "Commands:",
        "",
        "```bash",
        *commands,
        "```",
        "",
    ]
    return "\n".join(lines)


def write_section(path: Path, section: str) -> None:
    """Put ``section`` in place of the file's index-throughput section, or at its end."""
    write_report_section(path, HEADING, section)
