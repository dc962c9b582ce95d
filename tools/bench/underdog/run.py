"""One run: index the anima's memory, then ask every question with priming on and with priming off.

Both conditions use the prompt agent-runner gives a tiny model (``build_tiny_prompt``): with
priming on, ``recalled`` is what the priming service's ``Primer`` returned for the question; with
priming off it is empty. Everything else (identity, instruction, model, decoding) is the same.
"""

from __future__ import annotations

import dataclasses
import re
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Protocol

from animas_agent_runner.prompt.tiny import TINY_PROMPT_BUDGET, build_tiny_prompt
from animas_core.config import AnimaWorksConfig
from animas_local_llm.degenerate import is_degenerate
from animas_priming.adapters.embedder import SentenceTransformerEmbedder
from animas_tools.bench_report import load_average

from .chats import ThreeChats
from .facts import Fact, is_correct
from .memory import ANIMA, IDENTITY, build_memory
from .model import ModelReply
from .priming import InProcessPriming, recalled_text

CONTEXT_WINDOW = 8_192
"""SmolLM2's context window, as agent-runner would pass it to priming."""
WARMUP = "Hello!"


class ChatModel(Protocol):
    """What the benchmark asks: one system prompt and one user message, greedy."""

    model: str

    def chat(self, system: str, user: str) -> ModelReply:
        """The model's reply."""
        ...


@dataclasses.dataclass(frozen=True)
class Condition:
    """One question asked under one condition."""

    reply: str
    correct: bool
    seconds: float
    prompt_tokens: int
    """Tokens of the system prompt as ``build_tiny_prompt`` counts them (cl100k)."""
    borrowed: bool
    """A wrong reply that repeats a name, number or code from elsewhere in its system prompt."""
    degenerate: bool = False
    """The reply is a repetition loop (``animas_local_llm.degenerate``), not an answer."""


@dataclasses.dataclass(frozen=True)
class QuestionResult:
    """One question in both conditions."""

    fact: Fact
    primed: Condition
    unprimed: Condition
    prime_ms: float
    fact_in_prompt: bool
    """Whether an acceptable answer reached the primed system prompt (after the tiny prompt's cut)."""
    memories_kept: int


@dataclasses.dataclass
class UnderdogRun:
    """Everything the report says about one run."""

    started: datetime
    model: str
    base_url: str
    files: int = 0
    chunks: int = 0
    index_s: float = 0.0
    embedder_load_s: float = 0.0
    warmup_s: float = 0.0
    results: list[QuestionResult] = dataclasses.field(default_factory=list)
    seconds: float = 0.0
    server_ready_s: float | None = None
    """Seconds until a local-llm started by this run said ``ready`` (``None``: not started here)."""
    server_from_cache: bool | None = None
    load_start: str = ""
    tiny_budget: int = TINY_PROMPT_BUDGET

    chats: ThreeChats | None = None
    """The bundled model through the whole system, when the run had it do that."""

    def correct(self, primed: bool) -> int:
        """Questions answered with the right fact in one condition."""
        return sum((r.primed if primed else r.unprimed).correct for r in self.results)

    def degenerate(self, primed: bool) -> int:
        """Replies in one condition that are repetition loops."""
        return sum((r.primed if primed else r.unprimed).degenerate for r in self.results)


_VALUE = re.compile(r"[\w.:#-]*\d[\w.:#-]*|[\w-]*[A-Z][\w-]*")


def borrowed_value(reply: str, system: str, question: str) -> bool:
    """Whether ``reply`` holds a number or capitalised word absent from the question but in ``system``.

    A rough sign of *which* mistake a wrong reply is: a value taken from another memory (a
    look-alike, a distractor, an episode's time stamp) rather than one made up.
    """
    asked = question.casefold()
    return any(
        token.casefold() not in asked and token in system
        for token in (t.strip(".:,-") for t in _VALUE.findall(reply))
        if len(token) >= 2 and token not in {"The", "It", "Our", "We", "I"}
    )


def _ask(
    model: ChatModel, fact: Fact, recalled: str, budget: int = TINY_PROMPT_BUDGET
) -> tuple[Condition, int, bool]:
    prompt = build_tiny_prompt(anima=ANIMA, identity=IDENTITY, recalled=recalled, budget=budget)
    reply = model.chat(prompt.text, fact.question)
    correct = is_correct(reply.text, fact.answers)
    condition = Condition(
        reply=reply.text,
        correct=correct,
        seconds=reply.seconds,
        prompt_tokens=prompt.tokens,
        borrowed=not correct and borrowed_value(reply.text, prompt.text, fact.question),
        degenerate=is_degenerate(reply.text, truncated=reply.finish_reason == "length"),
    )
    return condition, prompt.memories_kept, is_correct(prompt.text, fact.answers)


async def run_underdog(
    facts: Sequence[Fact],
    model: ChatModel,
    *,
    base_url: str,
    distractor_count: int = 420,
    embedder: SentenceTransformerEmbedder | None = None,
    progress: bool = True,
    tiny_budget: int = TINY_PROMPT_BUDGET,
) -> UnderdogRun:
    """Build and index the memory, then ask each fact's question primed and unprimed.

    ``tiny_budget`` is the primed prompt's token budget: the product's by default, another value
    only to explore.
    """
    run = UnderdogRun(
        started=datetime.now(UTC), model=model.model, base_url=base_url, load_start=load_average()
    )
    run.tiny_budget = tiny_budget
    started = time.perf_counter()
    files = build_memory(facts, today=date.today(), distractor_count=distractor_count)
    if embedder is None:
        begin = time.perf_counter()
        embedder = SentenceTransformerEmbedder(AnimaWorksConfig().rag.embedding_model)
        run.embedder_load_s = time.perf_counter() - begin
    with tempfile.TemporaryDirectory(prefix="underdog-") as tmp:
        priming = InProcessPriming(embedder, Path(tmp), CONTEXT_WINDOW)
        try:
            await priming.load(ANIMA, files)
            run.files, run.chunks, run.index_s = priming.files, priming.chunks, priming.index_s
            _say(progress, f"indexed {run.files} files, {run.chunks} chunks in {run.index_s:.1f} s")
            begin = time.perf_counter()
            model.chat(build_tiny_prompt(anima=ANIMA, identity=IDENTITY, recalled="").text, WARMUP)
            run.warmup_s = time.perf_counter() - begin
            for number, fact in enumerate(facts, start=1):
                begin = time.perf_counter()
                reply = await priming.prime(ANIMA, fact.question)
                prime_ms = (time.perf_counter() - begin) * 1000.0
                primed, kept, reached = _ask(model, fact, recalled_text(reply), tiny_budget)
                unprimed, _, _ = _ask(model, fact, "")
                run.results.append(QuestionResult(fact, primed, unprimed, prime_ms, reached, kept))
                _say(
                    progress,
                    f"{number:2d}/{len(facts)} {fact.key}: primed {_mark(primed)} {primed.reply!r}"
                    f" | unprimed {_mark(unprimed)} {unprimed.reply!r}",
                )
        finally:
            priming.close()
    run.seconds = time.perf_counter() - started
    return run


def _mark(condition: Condition) -> str:
    return "✓" if condition.correct else "✗"


def _say(progress: bool, line: str) -> None:
    if progress:
        print(line, flush=True)
