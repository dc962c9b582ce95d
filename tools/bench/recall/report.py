"""The Markdown report: machine, recall tables (held-back half, then dev), throughput, verdict."""

from __future__ import annotations

import dataclasses
import os
import platform
from collections.abc import Callable
from datetime import datetime

from animas_priming.chunking import CONTEXT_WEIGHT
from animas_priming.domain.fusion import KEYWORD_SHARE
from animas_priming.domain.ranking import COMPONENTS, DEFAULT_WEIGHTS

from .locomo import CATEGORIES, DEV, HELD_BACK, HIT_KS, KS, RecallResult, Tally
from .retrievers import BASELINES, CANDIDATES, DEFAULT_ROW, GRAPH_SEEDS
from .throughput import Throughput


@dataclasses.dataclass
class Run:
    """Everything the report says."""

    started: datetime
    load_start: str
    dev: RecallResult
    held_back: RecallResult
    throughput: list[Throughput]
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


def _span(numbers: frozenset[int]) -> str:
    return f"{min(numbers)}–{max(numbers)}"


def _recall_table(result: RecallResult, tally: Callable[[str], Tally]) -> list[str]:
    head = " | ".join(f"recall@{k}" for k in KS) + " | " + " | ".join(f"hit@{k}" for k in HIT_KS)
    lines = [f"| retriever | {head} |", "|---" * (1 + len(KS) + len(HIT_KS)) + "|"]
    for name in result.rows:
        t = tally(name)
        cells = [f"{t.recall_pct(k):.1f}" for k in KS] + [f"{t.hit_pct(k):.1f}" for k in HIT_KS]
        label = f"**{name}**" if name == DEFAULT_ROW else name
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def _category_tally(result: RecallResult, category: int) -> Callable[[str], Tally]:
    def tally(row: str) -> Tally:
        return result.rows[row][category]

    return tally


def _tables(result: RecallResult, level: str) -> list[str]:
    """The overall table and one per category."""
    lines = [f"{level} Overall (categories 1–4, {result.overall(DEFAULT_ROW).questions} questions)", ""]
    lines += _recall_table(result, result.overall)
    for category, name in CATEGORIES.items():
        lines += [
            "",
            f"{level} Category {category}: {name} ({result.questions.get(category, 0)} questions)",
            "",
            *_recall_table(result, _category_tally(result, category)),
        ]
    return lines


def _pct(result: RecallResult, row: str, k: int) -> float:
    return result.overall(row).recall_pct(k)


def _pair(result: RecallResult, row: str, category: int | None = None) -> str:
    if category is None:
        return f"{_pct(result, row, 5):.1f} / {_pct(result, row, 10):.1f}"
    tally = result.rows[row][category]
    return f"{tally.recall_pct(5):.1f} / {tally.recall_pct(10):.1f}"


def _verdict(result: RecallResult) -> str:
    """Whether the default beats every baseline at recall@5 and @10, said plainly."""
    beaten = [
        (row, k) for row in BASELINES for k in (5, 10) if _pct(result, DEFAULT_ROW, k) > _pct(result, row, k)
    ]
    missed = [f"{row} at @{k}" for row in BASELINES for k in (5, 10) if (row, k) not in beaten]
    if not missed:
        return (
            "above every baseline (BM25 alone and hybrid RRF, with and without function words) at @5 and @10"
        )
    return "not above " + ", ".join(missed)


def where_we_stand(run: Run) -> list[str]:
    """The verdict against the targets on the held-back half, every number taken from this run."""
    held, dev = run.held_back, run.dev
    d5, d10 = _pct(held, DEFAULT_ROW, 5), _pct(held, DEFAULT_ROW, 10)
    met = {k: value >= goal for k, value, goal in ((5, d5, 65), (10, d10, 75))}
    if all(met.values()):
        target = "meets the target"
    elif any(met.values()):
        target = " and ".join(
            f"recall@{k} {'meets' if ok else 'is short of'} its target" for k, ok in met.items()
        )
    else:
        target = "short of the target"
    lines = [
        f"- **Recall on the held-back half (conversations {_span(HELD_BACK)}): {target}.** The default"
        f" ranking reaches recall@5 / @10 {d5:.1f} / {d10:.1f} against the targets 65 / 75"
        f" ({d5 - 65:+.1f} / {d10 - 75:+.1f} points). It is {_verdict(held)}. BM25 alone:"
        f" {_pair(held, 'BM25 alone, all query words')} with every query word,"
        f" {_pair(held, 'BM25 alone')} without function words; dense alone {_pair(held, 'dense alone')};"
        f" hybrid RRF {_pair(held, 'hybrid RRF, all query words')} (the fusion before, today's index)"
        " and"
        f" {_pair(held, 'hybrid RRF')} without function words; the shipped fusion before `rank`"
        f" {_pair(held, 'hybrid search order')}; the default before the keyword context and the heading"
        f" signal {_pair(held, 'variant: the default before')}; the ranking as it was before that (RRF →"
        f" recency multiplier, graph into every day file) {_pair(held, 'variant: the ranking before')}."
        " On the development"
        f" half (conversations {_span(DEV)}) the"
        f" default reaches {_pair(dev, DEFAULT_ROW)} and is {_verdict(dev)}.",
    ]
    effects = sorted(
        ((c, _pct(held, f"default without {c}", 5) - d5) for c in COMPONENTS), key=lambda p: -p[1]
    )
    lines.append(
        "- **What each component is worth on the held-back half** (recall@5 change when it is switched off;"
        " positive means it costs recall): "
        + ", ".join(f"{c} {delta:+.1f}" for c, delta in effects)
        + f". *Decay* is now a prior of {DEFAULT_WEIGHTS.recency:g} added for a memory of today (half that"
        " after one half-life), a tie-breaker; as the multiplier it was, the ranking reaches"
        f" {_pair(held, 'variant: recency as a multiplier')}, and a prior four times as strong"
        f" {_pair(held, 'variant: recency prior ×4')}. *Graph* activation goes to knowledge files only"
        f" (weight {DEFAULT_WEIGHTS.graph:g}); LoCoMo holds episodes only, so it cannot act here, and letting"
        f" it into episode days gives {_pair(held, 'variant: graph into episodes too')}. *Frequency* and"
        " *important* have nothing to act on (no access statistics, no `[IMPORTANT]` items), so their rows"
        " equal the default by construction; the unit tests exercise them."
    )
    shares = sorted(name for name in dev.rows if name.startswith("variant: mix, keyword share"))
    lines.append(
        f"- **How the choices were made (development half only).** Function words out of the keyword query:"
        f" BM25 {_pair(dev, 'BM25 alone, all query words')} → {_pair(dev, 'BM25 alone')}. Fusion by a"
        f" convex mix of min-max normalised scores (keyword share {KEYWORD_SHARE:g}):"
        f" {_pair(dev, 'hybrid search order')}, against RRF {_pair(dev, 'hybrid RRF')} over the same sides;"
        " other shares: "
        + ", ".join(f"{name.rsplit(' ', 1)[1]} {_pair(dev, name)}" for name in shares)
        + f". Ranking on top: {_pair(dev, DEFAULT_ROW)}, of which context (a hit takes"
        f" {DEFAULT_WEIGHTS.context:g} of its best neighbouring entry's relevance) is worth"
        f" {_pct(dev, DEFAULT_ROW, 5) - _pct(dev, 'default without context', 5):+.1f} at @5 (without it"
        f" {_pair(dev, 'default without context')}); with recency as a multiplier"
        f" {_pair(dev, 'variant: recency as a multiplier')}, with a prior four times as strong"
        f" {_pair(dev, 'variant: recency prior ×4')}. Keyword context: each episode entry is indexed"
        f" with the entry before it, in an FTS5 column of its own at BM25 weight {CONTEXT_WEIGHT:g}"
        f" (the entry's own words weigh 1; nothing more is embedded); with every entry indexed alone the"
        f" default reaches {_pair(dev, 'variant: entries indexed alone')}. Heading: a hit whose heading"
        " names a content word of the question (a speaker, a topic; not a function word, number or"
        f" honorific) gains {DEFAULT_WEIGHTS.heading:g}; without it {_pair(dev, 'default without heading')},"
        f" at half the weight {_pair(dev, 'variant: heading weight 0.2')}. Before both:"
        f" {_pair(dev, 'variant: the default before')}. The alternatives tried while choosing (the"
        " previous entry embedded with the entry, the next entry or both as context, other context and"
        " heading weights, a deeper candidate pool, separate weights for the entries before and after)"
        " are listed with their development-half numbers where each choice is made in the code"
        " (`chunking.episode_context`, `chunking.CONTEXT_WEIGHT`, `domain/ranking.py`)."
    )
    lines.append(
        f"- **The rest of the gap.** Multi-hop questions (category 1: {_pair(held, DEFAULT_ROW, 1)} on the"
        " held-back half) need several turns, often of different days, and open-domain ones (category 3:"
        f" {_pair(held, DEFAULT_ROW, 3)}) knowledge the turns only imply. Next candidates, to be chosen on"
        " the development half the same way: a stronger embedding model than MiniLM (multilingual-e5-small"
        " did not win on LoCoMo, see the embedders section); a small cross-encoder re-ranking the top 50"
        " (none ships its weights in a wheel on the package index we use, nothing may download at run"
        " time, and 50 pairs per prime cost tens of milliseconds on 2 cores); query expansion from the top"
        " hits (a second keyword search per prime)."
    )
    return lines


def render(run: Run) -> str:
    """The Markdown report."""
    held, dev = run.held_back, run.dev
    turns = held.turns + dev.turns
    lines = [
        "# Benchmarks",
        "",
        "Generated by `python tools/bench/recall_bench.py` (`just bench-recall`) on"
        f" {run.started:%Y-%m-%d}. Numbers are measured by that run; nothing here is typed in by hand except"
        " the reference rows, which come from `../shared/bench/README.md`.",
        "",
        "## Machine",
        "",
        f"- `uname -m`: {platform.machine()}; CPUs: {os.cpu_count()}; {platform.python_implementation()}"
        f" {platform.python_version()}",
        f"- load average (1/5/15 min) at start: {run.load_start}; at the end: {run.load_end}",
        f"- embedding model: all-MiniLM-L6-v2 (bundled), on the CPU; wall time: {run.seconds / 60:.1f} min",
        "",
        "## Recall on LoCoMo (retrieval only, no LLM)",
        "",
        f"Data: `../shared/bench/locomo10.json` (LoCoMo, CC BY-NC 4.0, read at run time): 10 conversations,"
        f" {turns:,} turns, each stored as one `## HH:MM <speaker>` entry of an `episodes/<session date>.md`"
        " file of one anima per conversation (a shared picture's caption kept with its turn), chunked by"
        " `chunk_file`, embedded by the bundled MiniLM and stored in `SqliteMemoryIndex`: one chunk per turn,"
        " so evidence ids map one to one. recall@k: share of a question's evidence turns in the top k,"
        " averaged over questions; hit@k: at least one in the top k. Categories 1–4 are scored;"
        f" {held.dropped_ids + dev.dropped_ids} malformed or unknown evidence ids were left out"
        f" ({held.dropped_questions + dev.dropped_questions} questions had no valid one)."
        f" **Split:** every choice (stop words, fusion, weights) was made on the development half,"
        f" conversations {_span(DEV)} ({dev.turns:,} turns); the tables below are the held-back half,"
        f" conversations {_span(HELD_BACK)} ({held.turns:,} turns), with the development half's in the"
        f" details block after them. Ranking takes the top {CANDIDATES} of the search, `now` = the"
        f" conversation's last session, half-life 30 days; graph activation spreads from the files of the"
        f" top {GRAPH_SEEDS} hits over 2 hops ({held.graph_nodes + dev.graph_nodes} day files,"
        f" {held.graph_edges + dev.graph_edges} implicit links at cosine ≥ 0.75)."
        f" The recall part took {held.seconds + dev.seconds:.0f} s"
        " (embeddings cached under `.cache/bench/`).",
        "",
        f"### Held-back half: conversations {_span(HELD_BACK)}",
        "",
        *_tables(held, "####"),
        "",
        "<details><summary>Development half: conversations"
        f" {_span(DEV)} (where the choices were made)</summary>",
        "",
        *_tables(dev, "####"),
        "",
        "</details>",
        "",
        "### Rows",
        "",
        *(f"- *{name}*: {note}" for name, note in held.notes.items()),
        "",
        "### Reference points (from `../shared/bench/README.md`, all 10 conversations, same MiniLM)",
        "",
        "| retriever over single turns | recall@5 | recall@10 | recall@25 |",
        "|---|---|---|---|",
        *(f"| {name} | {a} | {b} | {c} |" for name, a, b, c in REFERENCE),
        "",
    ]
    if run.throughput:
        lines += [
            "## Embedding throughput",
            "",
            "`SentenceTransformerEmbedder.embed_passages`, batch 64, CPU, after a warm-up batch.",
            "",
            "| texts | count | mean characters | texts per second |",
            "|---|---|---|---|",
            *(
                f"| {t.kind} | {t.texts:,} | {t.mean_chars:.0f} | {t.per_second:.1f} |"
                for t in run.throughput
            ),
            "",
        ]
    lines += ["## Where we stand", "", *where_we_stand(run), ""]
    return "\n".join(lines)
