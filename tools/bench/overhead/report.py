"""The framework-overhead section of ``docs/benchmarks.md``: written in place, the rest left alone.

The section runs from its ``## Framework overhead`` heading to the next ``## `` heading (or the end
of the file); a run replaces it there, or appends it when the file has none yet.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from animas_contracts.subjects import SERVICE_NAMES
from animas_tools.bench_report import cpus, machine, percentile
from animas_tools.bench_report import write_section as write_report_section

from .run import OverheadRun
from .stages import Breakdown, dominant, stage_order

HEADING = "## Framework overhead"
TARGET = 3.0
"""The ratio issue #6 aims at (chat p50 over one raw NATS request/reply)."""


def ratio(run: OverheadRun) -> float:
    """Chat p50 (one at a time) over the raw NATS request/reply p50 (responder in another process)."""
    raw = percentile(run.nats_remote, 50)
    return percentile(run.sequential.ok_seconds, 50) / raw if raw > 0 else math.inf


def _ms(samples: Sequence[float], q: float, digits: int = 1) -> str:
    return f"{percentile(samples, q) * 1000:.{digits}f}"


def _row(what: str, samples: Sequence[float], failures: int, rate: str, digits: int = 1) -> str:
    count = len(samples) + failures
    p50, p95 = _ms(samples, 50, digits), _ms(samples, 95, digits)
    return f"| {what} | {count} | {failures} | {p50} | {p95} | {rate} |"


def _per_s(samples: Sequence[float]) -> str:
    return f"{len(samples) / sum(samples):,.0f}/s" if samples and sum(samples) > 0 else "–"


def _cells(values: Sequence[float], share: str) -> str:
    if not values:
        return "– | – | –"
    return f"{percentile(values, 50):.1f} | {percentile(values, 95):.1f} | {share}"


def stage_rows(one: Breakdown, load: Breakdown) -> list[str]:
    """The breakdown table's rows: every stage, then the work after the reply."""
    rows = [
        f"| {name} | {_cells(one.stages.get(name, []), f'{one.share(name):.0f}%')}"
        f" | {_cells(load.stages.get(name, []), f'{load.share(name):.0f}%')} |"
        for name in stage_order(one, load)
    ]
    after = "response.sent → cycle.finished: after the reply (episode encoded; not in the latency)"
    rows.append(f"| {after} | {_cells(one.after_reply, '–')} | {_cells(load.after_reply, '–')} |")
    return rows


def _failures(run: OverheadRun) -> str:
    phases = (("warm-up", run.warmup), ("one at a time", run.sequential), ("under load", run.sustained))
    listed = [
        f"{label}: {count}× {reason}" for label, phase in phases for reason, count in phase.problems().items()
    ]
    return "Failures: " + "; ".join(listed) + "." if listed else "Every reply was the scripted text."


def _concurrency(run: OverheadRun) -> str:
    """What running the clients at once bought, in numbers (Little's law: in flight = rate × wait)."""
    one, load = run.sequential, run.sustained
    if not one.per_second or not load.per_second:
        return "No throughput to compare."
    gain = load.per_second / one.per_second
    busy = (
        f" The machine's {cpus()} CPUs were {run.load_busy:.0f}% busy meanwhile (every process on it,"
        " other work included)" + (": the rate is what the CPUs give." if run.load_busy >= 90 else ".")
        if run.load_busy is not None
        else ""
    )
    wait = load.clients / load.per_second
    return (
        f"{load.clients} clients at once got {gain:.1f}× the rate of one at a time. With"
        f" {load.clients} chats always in flight at {load.per_second:.1f} replies/s, each waits about"
        f" {load.clients} ÷ {load.per_second:.1f} = {wait:.1f} s (measured p50"
        f" {percentile(load.ok_seconds, 50):.1f} s): "
        + ("the chats queue rather than run side by side." if gain < 1.5 else "concurrency pays off here.")
        + busy
    )


def render(run: OverheadRun, commands: Sequence[str]) -> str:
    """The section's Markdown, every number taken from ``run``."""
    p, one, load = run.params, run.sequential, run.sustained
    chats = len(run.warmup.samples) + len(one.samples) + len(load.samples)
    top, top_share = dominant(run.stages)
    load_top, load_share = dominant(run.stages_load)
    raw_p50 = percentile(run.nats_remote, 50)
    load_ratio = percentile(load.ok_seconds, 50) / raw_p50 if raw_p50 else math.inf
    local_p50 = percentile(run.nats_local, 50)
    local_ratio = percentile(one.ok_seconds, 50) / local_p50 if local_p50 else math.inf
    served = (
        f"the scripted LLM answered {run.llm_served} model requests for the run's {chats} chats"
        if run.llm_served is not None
        else f"the run sent {chats} chats"
    )
    chat_p50 = percentile(one.ok_seconds, 50)
    prime_share = 100.0 * percentile(run.prime_rpc, 50) / chat_p50 if chat_p50 else 0.0
    http_ratio = percentile(run.http_health, 50) / raw_p50 if raw_p50 else math.inf
    verdict = "within" if ratio(run) <= TARGET else "far from"
    lines = [
        HEADING,
        "",
        f"Generated by `{commands[0]}` on {run.started:%Y-%m-%d}; a fresh home in a temporary directory,"
        " `anima up --no-local-model` (nats-server and every service as its own process), the scripted"
        " LLM (`python -m animas_tools.scripted_llm`, one repeating text turn, no delay) as every anima's"
        f" model, {p.animas} animas created from the general template. Numbers are measured by that run;"
        " nothing is typed in by hand.",
        "",
        f"- **Overhead ratio (chat p50 / raw NATS request-reply p50): {ratio(run):,.0f}×** (target ≤"
        f" {TARGET:g}×: {verdict} it). Under load: {load_ratio:,.0f}×; against the responder in the"
        f" measuring process: {local_ratio:,.0f}×.",
        f"- Chat request → reply, one at a time: p50 {_ms(one.ok_seconds, 50)} ms, p95"
        f" {_ms(one.ok_seconds, 95)} ms. With {load.clients} clients at once (one per anima):"
        f" **{load.per_second:.1f} messages/s** sustained, p50 {_ms(load.ok_seconds, 50)} ms, p95"
        f" {_ms(load.ok_seconds, 95)} ms. {_failures(run)}",
        f"- {_concurrency(run)}",
        f"- Machine: {machine()}; load average (1/5/15 min) {run.load_start} at the start, {run.load_end}"
        " at the end (the machine is shared with other work: latency, p95 above all, is sensitive to"
        f" that). Wall time {run.seconds / 60:.1f} min (`anima up` {run.up_s:.1f} s, creating the"
        f" animas {run.create_s:.1f} s, waiting for background work between phases {run.settle_s:.1f} s);"
        f" {served}.",
        f"- Parameters: {p.animas} animas; warm-up {p.warmup_rounds} rounds of one chat per anima at once;"
        f" (a) {p.requests} chats one at a time, the animas in turn; (b) {p.clients} clients, client k"
        f" chatting with anima k, starting requests for {p.duration_s:g} s (messages/s = correct replies"
        f" over the time until the last one came back); raw NATS {p.nats_requests} request/replies each"
        f" way after 100 unmeasured; gateway `GET /api/health` {p.http_requests} times; priming's prime"
        f" and a memory-writer read {p.rpc_requests} times each, as agent-runner asks them, the animas in"
        " turn (the raw and direct request/replies one at a time, on a settled system, before the"
        " chats). One HTTP client (httpx, keep-alive); a reply counts only if it is HTTP 200, outcome"
        " `reply` and exactly the scripted text. *rate*: requests per second one after another (under"
        " load: correct replies per second of all the clients together).",
        "",
        "| measurement | requests | failures | p50 ms | p95 ms | rate |",
        "|---|---|---|---|---|---|",
        _row(
            "chat `POST /api/animas/{name}/chat`, one at a time",
            one.ok_seconds,
            one.failures,
            f"{one.per_second:.1f}/s",
        ),
        _row(
            f"chat, {load.clients} clients at once for {p.duration_s:g} s",
            load.ok_seconds,
            load.failures,
            f"**{load.per_second:.1f} msg/s**",
        ),
        _row(
            "raw NATS request/reply, echo responder in another process",
            run.nats_remote,
            0,
            _per_s(run.nats_remote),
            3,
        ),
        _row(
            "raw NATS request/reply, echo responder in the measuring process",
            run.nats_local,
            0,
            _per_s(run.nats_local),
            3,
        ),
        _row(
            "raw HTTP `GET /api/health` on the gateway (no NATS)",
            run.http_health,
            0,
            _per_s(run.http_health),
            2,
        ),
        _row(
            "priming `rpc.priming.prime.<anima>` alone (query embedding, six recall channels)",
            run.prime_rpc,
            0,
            _per_s(run.prime_rpc),
        ),
        _row(
            "memory-writer `rpc.memory.read.<anima>` alone (status.json)",
            run.read_rpc,
            0,
            _per_s(run.read_rpc),
            2,
        ),
        "",
        "**Where a chat's time goes**, from the events each chat left on the activity stream (see"
        " `tools/bench/overhead/stages.py`). A chat's marks, sorted by time, cut it into stages that add"
        " up to its latency: the client's send and its receipt of the reply; `message.received` (built"
        " by the gateway once it knows the anima); `cycle.started` and `response.sent` (agent-runner);"
        " the model call's start and end (`llm.called`: its `ts` less its `latency_ms`, and its `ts`)."
        " Between the marks: JetStream"
        " publishes (each acknowledged by the server) and deliveries, request/replies to memory-writer"
        " (status.json, permissions.md, the prompt's files), priming's request/reply with its query"
        " embedding and six recall channels, the system prompt built, the model call's bodies recorded."
        f" Chats broken down: {len(run.stages.totals)} one at a time and {len(run.stages_load.totals)}"
        f" under load ({run.stages.missing + run.stages_load.missing} left out for missing events)."
        f" Each chat stored {run.stages.events_per_chat:.1f} events on average. Priming leaves no event"
        " of the chat's own, so its request/reply was timed alone (the table above): p50"
        f" {_ms(run.prime_rpc, 50)} ms, {prime_share:.0f}% of a chat's p50 one at a time.",
        "",
        "| stage | one at a time p50 ms | p95 ms | share of mean | under load p50 ms | p95 ms | share |",
        "|---|---|---|---|---|---|---|",
        *stage_rows(run.stages, run.stages_load),
        "",
        "**What the ratio means.** It sets a whole agent cycle against one NATS round trip, so it is"
        f" large by construction, and the ≤ {TARGET:g}× target cannot be met by trimming NATS: a chat is"
        " an HTTP request, the gateway's admission (the anima directory, a request/reply to"
        " memory-writer at most once a second), the message stored in JetStream and delivered to"
        " agent-runner, request/replies to memory-writer for status.json, permissions.md and the prompt's"
        " files, priming's embedding of the message with the bundled MiniLM and its hybrid search, the"
        " model call through litellm over HTTP, and an event recorded (published, acked) at every step,"
        " then the reply stored and picked up by the gateway. Even the gateway's health endpoint (HTTP"
        f" alone, no NATS) takes {http_ratio:,.1f}× a NATS round trip. One at a time, the largest stage was"
        f" *{top}* ({top_share:.0f}% of the mean latency); under load it was *{load_top}*"
        f" ({load_share:.0f}%), and every stage also waits for a CPU. The model call itself is litellm"
        " and HTTP to a server that answers at once: the client library's own cost. After the reply"
        " each cycle still encodes its episode (memory-writer writes it, priming re-indexes it), work"
        f" that competes for the same {cpus()} CPUs with the {len(SERVICE_NAMES)} services, nats-server,"
        " the scripted LLM and the measuring client. The raw round trips bound what the bus alone costs;"
        " the chat numbers are the framework as shipped, and change with agent-runner's concurrency:"
        " rerun `just bench-overhead` after such changes.",
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
    """Put ``section`` in place of the file's overhead section, or at its end; keep everything else."""
    write_report_section(path, HEADING, section)
