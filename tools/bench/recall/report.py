"""The Markdown report: machine, recall tables, latency tables, throughput, where we stand."""

from __future__ import annotations

import dataclasses
import os
import platform
from collections.abc import Callable
from datetime import datetime

from animas_priming.domain.ranking import COMPONENTS
from animas_priming.settings import PrimingSettings

from .latency import LATENCY_QUERIES, WARMUP_QUERIES, LatencyRow
from .locomo import CATEGORIES, HIT_KS, KS, RecallResult, Tally
from .retrievers import GRAPH_SEEDS
from .throughput import Throughput


@dataclasses.dataclass
class Run:
    """Everything the report says."""

    quick: bool
    started: datetime
    load_start: str
    recall: RecallResult
    latency: list[LatencyRow]
    throughput: list[Throughput]
    corpus_embed_s: float
    seconds: float = 0.0
    load_end: str = ""


REFERENCE = (
    ("BM25 (stemmed)", "55.1", "63.2", "71.9"),
    ("dense MiniLM alone", "37.7", "46.6", "60.2"),
    ("BM25 + MiniLM, scores mixed 50/50", "57.5", "66.2", "75.8"),
    ("LoCoMo paper, DRAGON retriever on dialog turns", "56.7", "66.2", "76.7"),
    ("reference implementation (AnimaWorks v0.11.0), dense path", "43.2", "53.2", "67.4"),
    ("reference implementation (AnimaWorks v0.11.0), hybrid path", "41.8", "45.2", "59.7"),
)


def _recall_table(result: RecallResult, tally: Callable[[str], Tally]) -> list[str]:
    head = " | ".join(f"recall@{k}" for k in KS) + " | " + " | ".join(f"hit@{k}" for k in HIT_KS)
    lines = [f"| retriever | {head} |", "|---" * (1 + len(KS) + len(HIT_KS)) + "|"]
    for name in result.rows:
        t = tally(name)
        cells = [f"{t.recall_pct(k):.1f}" for k in KS] + [f"{t.hit_pct(k):.1f}" for k in HIT_KS]
        label = f"**{name}**" if name == "full ranking" else name
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def _category_tally(result: RecallResult, category: int) -> Callable[[str], Tally]:
    def tally(row: str) -> Tally:
        return result.rows[row][category]

    return tally


def _pct(result: RecallResult, row: str, k: int) -> float:
    return result.overall(row).recall_pct(k)


def _pair(result: RecallResult, row: str) -> str:
    return f"{_pct(result, row, 5):.1f} / {_pct(result, row, 10):.1f}"


def _pp(samples: tuple[float, float]) -> str:
    return f"{samples[0]:.1f} / {samples[1]:.1f}"


def where_we_stand(run: Run) -> list[str]:
    """The verdict against the targets, every number taken from this run."""
    r = run.recall
    full = "full ranking"
    f5, f10 = _pct(r, full, 5), _pct(r, full, 10)
    lines = [
        f"- **Recall: short of the target.** The full ranking reaches recall@5 / recall@10 {f5:.1f} /"
        f" {f10:.1f} over categories 1–4 against the targets 65 / 75 ({f5 - 65:+.1f} / {f10 - 75:+.1f}"
        f" points). BM25 alone over the same index reaches {_pair(r, 'BM25 alone')}, dense alone"
        f" {_pair(r, 'dense alone')}, and the index's own hybrid order (RRF, before `rank`)"
        f" {_pair(r, 'hybrid RRF (search order)')}: `rank` currently takes recall away rather than adding"
        " it on this data.",
    ]
    effects = sorted(
        ((c, _pct(r, f"full without {c}", 5) - f5) for c in COMPONENTS),
        key=lambda pair: -pair[1],
    )
    degree = 2 * r.graph_edges / r.graph_nodes if r.graph_nodes else 0.0
    lines.append(
        "- **What each component is worth here** (recall@5 change when it is switched off; positive means"
        " it costs recall): "
        + ", ".join(f"{c} {delta:+.1f}" for c, delta in effects)
        + ". *Keyword* and *dense* earn their place. *Decay* multiplies relevance by recency (half-life"
        " 30 days, now = the last session), while LoCoMo asks about early sessions as often as late"
        " ones: here it only demotes. *Graph* nodes are files, i.e. whole session days (on average"
        f" {degree:.1f} implicit links per day at cosine ≥ 0.75), so an activated neighbour lifts every"
        " turn of that day, mostly the wrong ones. *Frequency* and *important* have nothing to act on"
        " (no access statistics, no `[IMPORTANT]` items), so their rows equal the full ranking by"
        " construction; they are exercised by the unit tests, not by this benchmark."
    )
    lean = "variant: BM25, stop words dropped"
    mixed = "variant: scores mixed 50/50"
    both = "variant: stop words dropped + scores mixed 50/50"
    ranked = "variant: stop words dropped + scores mixed 50/50 → rank"
    lines.append(
        "- **Improvements measured in this run (not in the product).** (1) Leave English stop words out"
        f" of the keyword query: BM25 alone goes from {_pair(r, 'BM25 alone')} to {_pair(r, lean)}. FTS5"
        ' gives a term that occurs in a tenth of the turns ("did", "what") a real IDF, and conversational'
        " turns are full of them. (2) Fuse the two sides by a convex mix of min-max normalised scores"
        f" instead of RRF: {_pair(r, 'hybrid RRF (search order)')} → {_pair(r, mixed)}; RRF gives the"
        " weaker dense side's ranks as much say as BM25's. (3) Both together:"
        f" {_pair(r, both)} (recall@25 {_pct(r, both, 25):.1f}). Put through today's `rank` they fall to"
        f" {_pair(r, ranked)}, the decay and graph costs again. The 50/50 weight and the stop-word list are"
        " standard choices fixed before looking at per-question results, but they were picked after"
        " seeing this data set: treat the gains as a direction to verify, not as a result."
    )
    best = max((name for name in r.rows if name.startswith("variant:")), key=lambda name: _pct(r, name, 5))
    b5, b10 = _pct(r, best, 5), _pct(r, best, 10)
    lines.append(
        f"- **The rest of the gap.** Even the best variant (*{best.removeprefix('variant: ')}*, {b5:.1f} /"
        f" {b10:.1f}) stays {65 - b5:.1f} / {75 - b10:.1f} points under the target. Closing it needs more"
        " than weights: multi-hop questions (category 1) need several turns, and a single LoCoMo turn often"
        ' lacks its subject ("that\'s great, what breed?"), so (a) index each episode entry with a little'
        " context (the previous turn, or the session's summary line) for both BM25 and the embedding;"
        " (b) a stronger embedding model than MiniLM (e5-small / bge-small class, configurable already)"
        " or a small cross-encoder re-ranking the top 50, both at a latency cost on 2 cores; (c) make"
        " recency a tie-breaker (a small additive term) instead of a multiplier, or skip it when the"
        " question is about the past; (d) spread activation between knowledge files and only weakly into"
        " episode days."
    )
    if run.latency:
        parts = []
        targets = {10_000: 25.0, 100_000: 60.0}
        for row in run.latency:
            target = targets.get(row.chunks)
            verdict = (
                "no target"
                if target is None
                else f"{'within' if row.prime[1] <= target else 'over'} the {target:.0f} ms target"
            )
            parts.append(f"{row.chunks:,} chunks p50 / p95 {_pp(row.prime)} ms ({verdict})")
        first = run.latency[0]
        largest = run.latency[-1]
        judged = [row.prime[1] <= targets[row.chunks] for row in run.latency if row.chunks in targets]
        verdict = "no size with a target" if not judged else "within" if all(judged) else "over"
        lines.append(
            f"- **Priming latency: {verdict}{' the target' if judged else ''}.** "
            + "; ".join(parts)
            + f". One call makes {first.searches_per_prime:.1f} index searches (one per channel that"
            " searches, channel C two), each a keyword side and a vector side, serialised by the index's"
            f" per-anima connection lock, plus the query embedding ({_pp(first.embed)} ms p50 / p95 at"
            f" {first.chunks:,} chunks on this CPU). At {largest.chunks:,} chunks one keyword side takes"
            f" {_pp(largest.keyword)} ms and one sqlite-vec side {_pp(largest.dense)} ms (brute-force scan)."
            f" Measured ways down: stop words out of the query cut the keyword side to"
            f" {_pp(largest.keyword_lean)} ms; an exact KNN over the same vectors held in a numpy matrix"
            f" takes {_pp(largest.numpy_knn)} ms. So: search once per prime (one keyword and one vector pass"
            " over all memory types, split among the channels afterwards), keep each anima's vectors in"
            " memory (or quantised in sqlite-vec), drop stop words, and let reads run in parallel (WAL"
            " allows several readers). Outside the searches, a profile of one call shows the query embedding"
            " and token counting (every candidate line counted with the real tokenizer, and the sections"
            " counted again for the reply) as the main costs; the embedding alone takes most of a 25 ms"
            " budget on this CPU, so that target also needs the rest of the call to be nearly free."
        )
    return lines


def render(run: Run) -> str:
    """The Markdown report."""
    r = run.recall
    total_questions = sum(r.questions.values())
    command = "python tools/bench/recall_bench.py" + (" --quick" if run.quick else "")
    lines = [
        "# Benchmarks",
        "",
        f"Generated by `{command}` (`just bench-recall{' --quick' if run.quick else ''}`) on"
        f" {run.started:%Y-%m-%d}; the full run is `just bench-recall` (or `just bench`), the quick one adds"
        " `--quick` (latency at 1k and 10k chunks only). Numbers are measured by that run; nothing here is"
        " typed in by hand except the reference rows, which come from `../shared/bench/README.md`.",
        "",
        "## Machine",
        "",
        f"- `uname -m`: {platform.machine()}; CPUs: {os.cpu_count()}; {platform.python_implementation()}"
        f" {platform.python_version()} (`python --version`: Python {platform.python_version()})",
        f"- load average (1/5/15 min) at start: {run.load_start}; at the end: {run.load_end}"
        " (the machine is shared with other work; latency is sensitive to that)",
        f"- embedding model: all-MiniLM-L6-v2 (bundled), on the CPU; wall time: {run.seconds / 60:.1f} min",
        "",
        "## Recall on LoCoMo (retrieval only, no LLM)",
        "",
        f"Data: `../shared/bench/locomo10.json` (LoCoMo, CC BY-NC 4.0, read at run time): 10 conversations,"
        f" {r.turns:,} turns, each stored as one `## HH:MM <speaker>` entry of an"
        " `episodes/<session date>.md` file of one anima per conversation (a shared picture's caption"
        " kept with its turn), chunked by"
        " `chunk_file`, embedded by the bundled MiniLM and stored in `SqliteMemoryIndex`: one chunk per turn,"
        " so evidence ids map one to one. Questions with evidence in categories 1–4: "
        + ", ".join(f"{r.questions.get(c, 0)} {name} (cat {c})" for c, name in CATEGORIES.items())
        + f", {total_questions} in all; {r.dropped_ids} malformed or unknown evidence ids were left out"
        f" ({r.dropped_questions} questions had no valid one and are not scored). recall@k: share of a"
        " question's evidence turns in the top k, averaged over questions; hit@k: at least one in the top k."
        f" Ranking uses `now` = the conversation's last session, half-life 30 days; the graph has"
        f" {r.graph_nodes} file nodes (one per session day) and {r.graph_edges} implicit links"
        f" (cosine ≥ 0.75, no explicit links), spreading from the files of the top {GRAPH_SEEDS} hybrid"
        " hits over 2 hops."
        f" The recall part took {r.seconds:.0f} s.",
        "",
        "### Overall (categories 1–4)",
        "",
        *_recall_table(r, r.overall),
    ]
    for category, name in CATEGORIES.items():
        lines += [
            "",
            f"### Category {category}: {name} ({r.questions.get(category, 0)} questions)",
            "",
            *_recall_table(r, _category_tally(r, category)),
        ]
    lines += [
        "",
        "### Rows",
        "",
        *(f"- *{name}*: {note}" for name, note in r.notes.items()),
        "",
        "### Reference points (from `../shared/bench/README.md`, same kind of machine, same MiniLM)",
        "",
        "| retriever over single turns | recall@5 | recall@10 | recall@25 |",
        "|---|---|---|---|",
        *(f"| {name} | {a} | {b} | {c} |" for name, a, b, c in REFERENCE),
        "",
        "The reference implementation's full priming call took p50/p95 130/149 ms at ~600 chunks and"
        " 145/169 ms at ~11.8k chunks on the same kind of machine.",
        "",
        "## Priming latency",
        "",
        "One anima per size, its memory made of LoCoMo turns (each followed by the first words of another"
        " turn; 84% episodes in day files of 40 entries, 12% knowledge notes, 4% procedures and skills, a few"
        " `[IMPORTANT]` notes; access statistics for a tenth of the files), a 60-entry activity log for"
        " today and a pending-task list, served by an in-process memory client. `Primer.prime` runs all six"
        f" channels end to end (message classification, query embedding, the searches, ranking, token"
        f" fitting) for {LATENCY_QUERIES} different LoCoMo questions with a LoCoMo speaker as sender, after"
        f" {WARMUP_QUERIES} warm-up calls; the channel timeout is the default"
        f" {PrimingSettings.model_fields['channel_timeout_s'].default:g} s."
        " The read-your-writes overlay is empty (nothing pending). Embedding the"
        f" {max((row.chunks for row in run.latency), default=0):,}-chunk corpus took"
        f" {run.corpus_embed_s:.0f} s.",
        "",
        "| chunks | files | index build s | searches per prime | **prime p50 / p95 ms** | channel errors |"
        " mean tokens primed | mean sections |",
        "|---|---|---|---|---|---|---|---|",
        *(
            f"| {row.chunks:,} | {row.files:,} | {row.index_s:.1f} | {row.searches_per_prime:.1f}"
            f" | **{_pp(row.prime)}** | {row.channel_errors} | {row.mean_tokens:.0f}"
            f" | {row.mean_sections:.1f} |"
            for row in run.latency
        ),
        "",
        "Where the time goes (p50 / p95 ms; the same questions, one call at a time, episodes, limit 20):",
        "",
        "| chunks | `embed_query` | hybrid `search` | keyword side alone | vector side alone |"
        " keyword side, stop words dropped | numpy exact KNN in memory |",
        "|---|---|---|---|---|---|---|",
        *(
            f"| {row.chunks:,} | {_pp(row.embed)} | {_pp(row.search)} | {_pp(row.keyword)} | {_pp(row.dense)}"
            f" | {_pp(row.keyword_lean)} | {_pp(row.numpy_knn)} |"
            for row in run.latency
        ),
        "",
        "## Embedding throughput",
        "",
        "`SentenceTransformerEmbedder.embed_passages`, batch 64, CPU, after a warm-up batch.",
        "",
        "| texts | count | mean characters | texts per second |",
        "|---|---|---|---|",
        *(f"| {t.kind} | {t.texts:,} | {t.mean_chars:.0f} | {t.per_second:.1f} |" for t in run.throughput),
        "",
        "## Where we stand",
        "",
        *where_we_stand(run),
        "",
    ]
    return "\n".join(lines)
