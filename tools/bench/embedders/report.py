"""The ``## Embedders and Japanese recall`` section of docs/benchmarks.md."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from .japanese import PRODUCT, JapaneseResult
from .keyword import Tokenizer
from .models import NOT_RUNNABLE, Candidate
from .scoring import Scores
from .speed import Speed

TITLE = "## Embedders and Japanese recall"


@dataclasses.dataclass
class EmbedderRun:
    """What one embedder measured: its LoCoMo rows (None when skipped) and its speed."""

    candidate: Candidate
    model_name: str
    locomo: dict[str, Scores] | None
    speed: Speed | None


@dataclasses.dataclass
class Run:
    """Everything the section shows."""

    started_at: datetime
    load: str
    machine: str
    seconds: float
    passage_kind: str
    conversations: str
    embedders: list[EmbedderRun]
    tokenizers: list[Tokenizer]
    japanese: JapaneseResult


def render(run: Run) -> str:
    """The section as Markdown."""
    names = [e.candidate.name for e in run.embedders]
    jp = run.japanese
    lines = [
        TITLE,
        "",
        f"`just bench-embedders`, {run.started_at:%Y-%m-%d %H:%M} UTC, {run.seconds:.0f} s,"
        f" load average at start {run.load}; {run.machine}. Speed numbers move with load.",
        "",
        "### Candidates",
        "",
        "| embedder | package | model | licence | query embed p50 / p95 ms | passages/s (batch) |",
        "|---|---|---|---|---|---|",
    ]
    for e in run.embedders:
        s, c = e.speed, e.candidate
        speed = "not measured | not measured"
        if s is not None:
            throughput = f"{s.passages_per_second:.0f} ({s.passages} {run.passage_kind})"
            speed = f"{s.query_p50:.1f} / {s.query_p95:.1f} | {throughput}"
        lines.append(f"| {c.name} | `{c.package}` | {c.model} | {c.licence()} | {speed} |")
    lines += [
        "",
        "Left out: " + "; ".join(f"`{name}`: {why}" for name, why in NOT_RUNNABLE.items()) + ".",
        "",
    ]
    lines += [
        f"### Japanese set: {jp.memories} memories, {jp.questions} questions",
        "",
        "Ours (`tools/bench/japanese/set.json`): notes and episodes of one small company.",
        "",
        "Recall@5 / @10 in percent and MRR (first answer in the top 10). Keyword side alone:",
        "",
        "| tokenizer | r@5 | r@10 | MRR | how |",
        "|---|---|---|---|---|",
        f"| {PRODUCT} | {jp.bm25[PRODUCT].cells()} | `SqliteMemoryIndex.search` with no vector, as shipped |",
    ]
    lines += [f"| {t.name} | {jp.bm25[t.name].cells()} | {t.note} |" for t in run.tokenizers]
    lines += [
        "",
        "Dense alone, and hybrid (that keyword side fused with the embedder's dense side by `fuse`):",
        "",
    ]
    header = "| keyword side | " + " | ".join(f"{n} r@5 | r@10 | MRR" for n in names) + " |"
    lines += [header, "|---|" + "---|---|---|" * len(names)]
    lines.append("| none (dense alone) | " + " | ".join(jp.dense[n].cells() for n in names) + " |")
    for tokenizer in [PRODUCT, *(t.name for t in run.tokenizers)]:
        lines.append(
            f"| {tokenizer} | " + " | ".join(jp.hybrid[(n, tokenizer)].cells() for n in names) + " |"
        )
    with_locomo = [e for e in run.embedders if e.locomo is not None]
    if with_locomo:
        lines += [
            "",
            f"### LoCoMo, held-back conversations {run.conversations} (categories 1–4)",
            "",
            "Through `SqliteMemoryIndex.search` as shipped (BM25 is the same for every embedder):",
            "",
            "| embedder | BM25 r@5 | r@10 | MRR | dense r@5 | r@10 | MRR | hybrid r@5 | r@10 | MRR |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for e in with_locomo:
            rows = e.locomo or {}
            cells = " | ".join(rows[mode].cells() for mode in ("BM25", "dense", "hybrid"))
            lines.append(f"| {e.candidate.name} | {cells} |")
            questions = rows["dense"].questions
        lines.append(f"\n{questions} questions.")
    return "\n".join(lines) + "\n"
