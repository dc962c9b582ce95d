"""The ``## Priming latency`` section of docs/benchmarks.md, every sentence from the run's numbers."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime

from animas_priming.settings import PrimingSettings

from .latency import FLOOR_K, QUERIES, WARMUP, LatencyRow, Pair

HEADING = "## Priming latency"
TARGETS_MS = {10_000: 25.0, 100_000: 60.0}
"""Prime p95 targets by corpus size (issue #15)."""
TARGET_RATIO = 1.5


@dataclasses.dataclass
class PrimingRun:
    """What one run measured, and where."""

    started_at: datetime
    machine: str
    load_start: str
    load_end: str
    seconds: float
    embedded: int
    """Corpus chunks embedded by this run (the rest came from the on-disk cache)."""
    embed_s: float
    rows: list[LatencyRow]
    command: str


def _pp(pair: Pair) -> str:
    return f"{pair[0]:.1f} / {pair[1]:.1f}"


def _ratio(pair: Pair) -> str:
    return f"{pair[0]:.2f} / {pair[1]:.2f}"


def verdicts(rows: Sequence[LatencyRow]) -> list[str]:
    """One line per target: met or not, with the numbers."""
    lines = []
    for row in rows:
        target = TARGETS_MS.get(row.chunks)
        if target is not None:
            met = "met" if row.prime[1] <= target else "not met"
            lines.append(
                f"- {row.chunks:,} chunks: prime p95 {row.prime[1]:.1f} ms,"
                f" target ≤ {target:g} ms: **{met}**."
            )
    for row in rows:
        met = "met" if row.ratio[1] <= TARGET_RATIO else "not met"
        lines.append(
            f"- {row.chunks:,} chunks: prime / floor at p95 {row.ratio[1]:.2f},"
            f" target ≤ {TARGET_RATIO:g}: **{met}**."
        )
    return lines


def render(run: PrimingRun) -> str:
    """The section, heading included."""
    timeout = PrimingSettings.model_fields["channel_timeout_s"].default
    cache = (
        f"{run.embedded:,} corpus chunks were embedded by this run in {run.embed_s:.0f} s; the rest came from"
        " the vector cache (`.cache/bench/`, by model and text)"
        if run.embedded
        else "Every corpus vector came from the vector cache (`.cache/bench/`, by model and text)"
    )
    return "\n".join(
        [
            HEADING,
            "",
            f"`{run.command}`, {run.started_at:%Y-%m-%d %H:%M} UTC, {run.seconds:.0f} s."
            f" Machine: {run.machine}."
            f" Load average (1/5/15 min) {run.load_start} at the start, {run.load_end} at the end: latency"
            " depends on it. " + cache + ".",
            "",
            "One anima per size, its memory made of LoCoMo turns (each followed by the first words of another"
            " turn; 84% episodes in day files of 40 entries, 12% knowledge notes, 4% procedures and skills, a"
            " few `[IMPORTANT]` notes; access statistics for a tenth of the files), a 60-entry activity log"
            " for the anima's day and a pending-task list, served by an in-process memory client."
            " `Primer.prime` runs every channel end to end (classification, query embedding, the one index"
            f" search, ranking, token fitting) for {QUERIES} different LoCoMo questions with a LoCoMo"
            f" speaker as sender, after {WARMUP} warm-up calls; the channel timeout is the default"
            f" {timeout:g} s.",
            "",
            "**The floor** is measured for each question right after its prime: the query's `embed_query`,"
            f" a numpy dot product with every vector of the anima (top {FLOOR_K} by `argpartition`; the"
            " faster of `matrix @ query` and `einsum` for that question) and one"
            " FTS5 query of the same terms over the same file (`ORDER BY bm25 LIMIT"
            f" {FLOOR_K}`), one after the other. The ratio is prime over floor at the same percentile.",
            "",
            "| chunks | files | index build s | vectors loaded ms | searches per prime"
            " | **prime p50 / p95 ms** | **floor p50 / p95 ms** | **ratio p50 / p95** | channel errors"
            " | mean tokens primed | mean sections |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
            *(
                f"| {r.chunks:,} | {r.files:,} | {r.index_s:.1f} | {r.load_ms:.0f}"
                f" | {r.searches_per_prime:.1f}"
                f" | **{_pp(r.prime)}** | **{_pp(r.floor)}** | **{_ratio(r.ratio)}** | {r.channel_errors}"
                f" | {r.mean_tokens:.0f} | {r.mean_sections:.1f} |"
                for r in run.rows
            ),
            "",
            *verdicts(run.rows),
            "",
            "Where the time goes (p50 / p95 ms, each part timed on its own for the same questions). The"
            " prime's search is one `search_scopes` call answering every channel (sender, `[IMPORTANT]` and"
            " related knowledge, skills and procedures, episodes); the rest is the prime less its embedding"
            " and search (memory reads, ranking, token fitting, assembly):",
            "",
            "| chunks | `embed_query` | numpy dot (floor) | FTS5 query (floor) | prime's search | its keyword"
            " side alone | its vector side alone | rest of the prime |",
            "|---|---|---|---|---|---|---|---|",
            *(
                f"| {r.chunks:,} | {_pp(r.embed)} | {_pp(r.dot)} | {_pp(r.fts)} | {_pp(r.search)}"
                f" | {_pp(r.keyword)} | {_pp(r.dense)} | {_pp(r.rest)} |"
                for r in run.rows
            ),
            "",
        ]
    )
