"""Underdog benchmark: a 135M local model answering from memory, with priming on and off.

Run from the repository root::

    python tools/bench/underdog_bench.py                      # starts local-llm itself (temporary home)
    python tools/bench/underdog_bench.py --home ~/.animaworks # ... with that home's converted weights
    python tools/bench/underdog_bench.py --base-url http://127.0.0.1:18511/v1   # a running server

Any OpenAI-compatible server works with ``--base-url`` (and ``--model``). It prints a summary and
writes its section of ``docs/benchmarks.md`` (the other sections are left as they are).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import shlex
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import cast

from animas_agent_runner.prompt.tiny import TINY_PROMPT_BUDGET
from animas_tools.bench_report import machine, percentile

from .chats import ChatSystem, ThreeChats, have_three_chats
from .facts import load_facts
from .model import LOCAL_MODEL, OpenAIChat, local_llm_server
from .report import render, write_section
from .run import UnderdogRun, run_underdog

REPO = Path(__file__).resolve().parents[3]
DEFAULT_OUTPUT = REPO / "docs" / "benchmarks.md"
DEFAULT_LOG = Path(tempfile.gettempdir()) / "underdog-local-llm.log"
DEFAULT_SYSTEM_LOG = Path(tempfile.gettempdir()) / "underdog-anima-up.log"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--base-url", help="an OpenAI-compatible server (…/v1); default: start local-llm here"
    )
    parser.add_argument("--model", default=LOCAL_MODEL, help="model name sent to the server")
    parser.add_argument("--api-key", default="", help="bearer token for the server, if it wants one")
    parser.add_argument(
        "--home", type=Path, help="ANIMAWORKS_HOME for the local-llm started here (default: temp)"
    )
    parser.add_argument("--server-log", type=Path, default=DEFAULT_LOG, help="where local-llm's output goes")
    parser.add_argument("--limit", type=int, help="ask only the first N questions")
    parser.add_argument("--distractors", type=int, default=420, help="generated distractor facts")
    parser.add_argument("--max-tokens", type=int, default=48, help="max_tokens of each reply")
    parser.add_argument(
        "--tiny-budget",
        type=int,
        default=TINY_PROMPT_BUDGET,
        help="token budget of the primed prompt (default: the product's; other values only to explore)",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="the Markdown file to update")
    parser.add_argument("--no-write", action="store_true", help="print the summary only")
    parser.add_argument(
        "--no-chats", action="store_true", help="skip the three chats through `anima up` (acceptance 5)"
    )
    parser.add_argument(
        "--system-log", type=Path, default=DEFAULT_SYSTEM_LOG, help="where `anima up`'s output goes"
    )
    return parser


def summary(run: UnderdogRun) -> str:
    """A few lines for the terminal."""
    total = len(run.results)
    chats = run.chats
    chat_lines = (
        [
            f"  three chats through `anima up` (up in {chats.up_s:.1f} s): degenerate {chats.degenerate}/3,"
            f" recalled {chats.recalled}",
            *(f"    {c.seconds:5.1f} s {c.message!r} -> {c.reply!r}" for c in chats.chats),
        ]
        if chats
        else []
    )
    on_s = [r.primed.seconds for r in run.results]
    off_s = [r.unprimed.seconds for r in run.results]
    prime_ms = [r.prime_ms for r in run.results]
    borrowed = sum(r.primed.borrowed for r in run.results)
    return "\n".join(
        [
            f"underdog: {run.model} at {run.base_url}, {total} questions",
            f"  correct with priming:    {run.correct(True)}/{total}",
            f"  correct without priming: {run.correct(False)}/{total}",
            f"  degenerate replies: primed {run.degenerate(True)}/{total},"
            f" unprimed {run.degenerate(False)}/{total}",
            f"  fact reached the primed prompt: {sum(r.fact_in_prompt for r in run.results)}/{total};"
            f" wrong primed replies with another memory's value: {borrowed}",
            f"  model call p50/p95: primed {percentile(on_s, 50):.2f}/{percentile(on_s, 95):.2f} s,"
            f" unprimed {percentile(off_s, 50):.2f}/{percentile(off_s, 95):.2f} s",
            f"  priming p50/p95: {percentile(prime_ms, 50):.1f}/{percentile(prime_ms, 95):.1f} ms",
            f"  wall time {run.seconds + (run.server_ready_s or 0.0):.0f} s; machine: {machine()};"
            f" load average {run.load_start} at the start",
            *chat_lines,
        ]
    )


async def _main(args: argparse.Namespace) -> UnderdogRun:
    facts = load_facts()[: args.limit] if args.limit else load_facts()
    with contextlib.ExitStack() as homes, contextlib.ExitStack() as stack:
        base_url = args.base_url
        ready_s: float | None = None
        from_cache: bool | None = None
        weights_home: Path | None = args.home
        if base_url is None:
            if weights_home is None:
                # One temporary home for the benchmark's server and the chats' system: the weights
                # are converted once, so the chats time the model, not the conversion.
                weights_home = Path(homes.enter_context(tempfile.TemporaryDirectory(prefix="underdog-home-")))
            print(f"starting local-llm (python -m animas_local_llm), its log: {args.server_log}", flush=True)
            server = stack.enter_context(local_llm_server(weights_home, args.server_log))
            base_url, ready_s = server.base_url, server.ready_s
            from_cache = bool(server.health.get("from_cache"))
            print(f"local-llm ready at {base_url} after {ready_s:.1f} s", flush=True)
        model = OpenAIChat(base_url, args.model, max_tokens=args.max_tokens, api_key=args.api_key)
        stack.callback(model.close)
        run = await run_underdog(
            facts, model, base_url=base_url, distractor_count=args.distractors, tiny_budget=args.tiny_budget
        )
        run.server_ready_s, run.server_from_cache = ready_s, from_cache
        stack.close()
        if not args.no_chats:
            # After the benchmark's own server has stopped: the system starts its own local-llm.
            run.chats = _three_chats(weights_home, args.system_log)
    return run


def _three_chats(weights_home: Path | None, log: Path) -> ThreeChats:
    """`anima up` in a temporary home with no model configured, then the three chats.

    With ``weights_home`` its converted weights are reused, so the chats time the model, not the
    one-off conversion. ``LocalSystem`` is the learning benchmark's (tools/bench is on the path).
    """
    system_module = importlib.import_module("learning.system")
    with tempfile.TemporaryDirectory(prefix="underdog-chats-") as tmp:
        home = Path(tmp) / "home"
        if weights_home is not None and (weights_home / "models").is_dir():
            home.mkdir()
            (home / "models").symlink_to((weights_home / "models").resolve(), target_is_directory=True)
        system = system_module.LocalSystem(home, log)
        print(f"three chats: starting anima up in {home}, its log: {log}", flush=True)
        started = time.perf_counter()
        system.start()
        try:
            return have_three_chats(cast(ChatSystem, system), time.perf_counter() - started)
        finally:
            system.stop()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point."""
    args = _parser().parse_args(argv)
    shown = list(sys.argv[1:] if argv is None else argv)
    command = shlex.join(["python", "tools/bench/underdog_bench.py", *shown])
    run = asyncio.run(_main(args))
    print(summary(run))
    if not args.no_write:
        write_section(args.output, render(run, [command]))
        print(f"written to {args.output}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
