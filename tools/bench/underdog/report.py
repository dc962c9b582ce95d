"""The underdog section of ``docs/benchmarks.md``: written in place, the rest of the file left alone.

The section runs from its ``## Underdog…`` heading to the next ``## `` heading (or the end of the
file); a run replaces it there, or appends it when the file has none yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from animas_agent_runner.prompt.tiny import TINY_PROMPT_BUDGET
from animas_tools.bench_report import load_average, machine, percentile
from animas_tools.bench_report import write_section as write_report_section

from .chats import ThreeChats
from .facts import load_facts
from .run import QuestionResult, UnderdogRun

HEADING = "## Underdog: a 135M local model with and without memory"
DEVELOPMENT_QUESTIONS = 18
"""The tiny prompt's layout is chosen on the first this many questions of facts.json (the development
half); the others are held back, and the report gives both halves apart (issue #15 item 7)."""


def development_keys() -> frozenset[str]:
    """The keys of the development half's questions."""
    return frozenset(fact.key for fact in load_facts()[:DEVELOPMENT_QUESTIONS])


def _split(results: Sequence[QuestionResult]) -> str:
    """Correct primed answers on the development half and on the held-back half."""
    keys = development_keys()
    dev = [r for r in results if r.fact.key in keys]
    held = [r for r in results if r.fact.key not in keys]
    right = sum(r.primed.correct for r in dev), sum(r.primed.correct for r in held)
    return (
        f"- **Split: with priming {right[0]}/{len(dev)} on the development half, {right[1]}/{len(held)} on"
        " the held-back half.** The tiny prompt's shape (memories first, an episode without its trigger and"
        f" decision lines) was chosen on the development half, the first {DEVELOPMENT_QUESTIONS} questions of"
        " `facts.json`; the other questions were not looked at while choosing."
    )


def _p50_p95(samples: Sequence[float], scale: float = 1.0, digits: int = 2) -> str:
    return f"{percentile(samples, 50) * scale:.{digits}f} / {percentile(samples, 95) * scale:.{digits}f}"


def _pct(count: int, total: int) -> str:
    return f"{count}/{total} ({100.0 * count / total:.0f}%)" if total else "0/0"


def _cell(text: str) -> str:
    flat = " ".join(text.split()).replace("|", "\\|")
    return flat if len(flat) <= 90 else flat[:87] + "…"


def _row(r: QuestionResult) -> str:
    marks = f"{'✓' if r.primed.correct else '✗'} | {'✓' if r.unprimed.correct else '✗'}"
    return (
        f"| {r.fact.key} | {'yes' if r.fact_in_prompt else 'no'} | {marks} | {_cell(r.primed.reply)}"
        f" | {_cell(r.unprimed.reply)} |"
    )


def _chats(chats: ThreeChats | None) -> list[str]:
    """The three chats through `anima up`: each reply, its latency and whether it loops."""
    if chats is None:
        return []
    recalled = "holds" if chats.recalled else "does **not** hold"
    return [
        "",
        "**Three chats through the whole system** (acceptance 5): `anima up` with no model configured"
        " (the bundled model, weights already converted), a new anima from the `general` template, three"
        " messages in one thread."
        f" The system took {chats.up_s:.1f} s to start; **degenerate replies: {chats.degenerate}/"
        f"{len(chats.chats)}**; the last reply {recalled} what the second message said.",
        "",
        "| message | reply | seconds | loops or echoes an earlier reply |",
        "|---|---|---|---|",
        *(
            f"| {_cell(c.message)} | {_cell(c.reply)} | {c.seconds:.1f} | {'yes' if c.degenerate else 'no'} |"
            for c in chats.chats
        ),
    ]


def render(run: UnderdogRun, commands: Sequence[str]) -> str:
    """The section's Markdown, every number taken from ``run``."""
    total = len(run.results)
    on, off = run.correct(True), run.correct(False)
    reached = sum(r.fact_in_prompt for r in run.results)
    both = sum(r.primed.correct and r.unprimed.correct for r in run.results)
    lost = sum(r.unprimed.correct and not r.primed.correct for r in run.results)
    missed = sum(r.fact_in_prompt and not r.primed.correct for r in run.results)
    prime_ms = [r.prime_ms for r in run.results]
    on_s = [r.primed.seconds for r in run.results]
    off_s = [r.unprimed.seconds for r in run.results]
    on_tokens = sum(r.primed.prompt_tokens for r in run.results) / total if total else 0.0
    off_tokens = sum(r.unprimed.prompt_tokens for r in run.results) / total if total else 0.0
    episodes = sum(r.fact.is_episode for r in run.results)
    borrowed = sum(r.primed.borrowed for r in run.results)
    budget = (
        ""
        if run.tiny_budget == TINY_PROMPT_BUDGET
        else f" **Exploratory: the primed prompt's budget was {run.tiny_budget} tokens, not the product's"
        f" {TINY_PROMPT_BUDGET}.**"
    )
    weights = "from the cache" if run.server_from_cache else "converted from the GGUF"
    server = (
        " The benchmark started the local-llm service itself; `/health` said ready after"
        f" {run.server_ready_s:.1f} s (weights {weights})."
        if run.server_ready_s is not None
        else " The server was already running."
    )
    lines = [
        HEADING,
        "",
        f"Generated by `{commands[0]}` on {run.started:%Y-%m-%d}; model `{run.model}` at {run.base_url}."
        + server
        + " Numbers are measured by that run; nothing is typed in by hand."
        + budget,
        "",
        f"- **Correct answers with priming: {_pct(on, total)}; without priming: {_pct(off, total)}.**",
        _split(run.results),
        f"- **Degenerate replies (repetition loops): {run.degenerate(True)}/{total} primed,"
        f" {run.degenerate(False)}/{total} unprimed** (a run of 6 words said 3 times, or twice in a reply"
        " cut at its token cap: `animas_local_llm.degenerate`).",
        f"- The answer reached the primed prompt for {_pct(reached, total)} questions; the model missed it"
        f" in {missed} of those. Right in both conditions: {both}; right only without priming: {lost}.",
        f"- Model call p50 / p95: {_p50_p95(on_s)} s primed (system prompt {on_tokens:.0f} tokens on"
        f" average), {_p50_p95(off_s)} s unprimed ({off_tokens:.0f} tokens); priming itself"
        f" {_p50_p95(prime_ms, digits=1)} ms.",
        f"- Of the {total - on} wrong primed replies, {borrowed} repeat a name, number or code found"
        " elsewhere in their prompt (a look-alike, a distractor, an episode's time stamp): the memory was"
        " there, the model read the wrong line; the others made a value up.",
        f"- Machine: {machine()}; load average (1/5/15 min) {run.load_start} at the start,"
        f" {load_average()} at the end (the machine is shared with other work: latency, p95 above all, is"
        " sensitive to that)."
        f" Wall time {(run.seconds + (run.server_ready_s or 0.0)) / 60:.1f} min"
        f" (local-llm start {run.server_ready_s or 0.0:.1f} s, embedder load {run.embedder_load_s:.1f} s,"
        f" indexing {run.index_s:.1f} s, first model call {run.warmup_s:.1f} s).",
        *_chats(run.chats),
        "",
        f"**Setup.** {total} questions about made-up facts of a small company (server names, door codes,"
        " account numbers, people, dates; `tools/bench/underdog/facts.json`), answerable only from memory."
        f" The anima's memory holds each fact once ({total - episodes} as knowledge sections, {episodes} as"
        f" episode entries) among {run.chunks - total} other sections in {run.files} files: generated"
        " distractors of the same shapes and, for every fact, hand-written look-alikes (the guest wifi next"
        " to the office wifi). It is indexed and primed in process by the priming service's own `Indexer`"
        " and `Primer` (bundled MiniLM, embedded SQLite index, default config, a person's chat message)."
        " Both conditions use agent-runner's tiny-model prompt, `build_tiny_prompt`: *primed* with the"
        " primed sections as `recalled` (joined as agent-runner joins them), *unprimed* with"
        ' `recalled=""`. The question is the user message; temperature 0, `max_tokens` 48, not streamed.'
        " A reply is correct when it contains an accepted answer string (case-insensitive), e.g."
        " `KESTREL-7`.",
        "",
        "Commands:",
        "",
        "```bash",
        *commands,
        "```",
        "",
        "<details><summary>Per question (✓ = reply holds the fact)</summary>",
        "",
        "| question | fact in primed prompt | primed | unprimed | primed reply | unprimed reply |",
        "|---|---|---|---|---|---|",
        *(_row(r) for r in run.results),
        "",
        "</details>",
        "",
    ]
    return "\n".join(lines)


def write_section(path: Path, section: str) -> None:
    """Put ``section`` in place of the file's underdog section, or at its end; keep everything else."""
    write_report_section(path, HEADING, section)
