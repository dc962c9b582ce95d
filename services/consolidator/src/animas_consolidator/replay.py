"""Offline re-consolidation: ``anima replay consolidate NAME --from DATE [--to DATE]``.

The CLI reads the anima's recorded events from the stream (bodies kept in the object store
inlined) and writes its knowledge as it is today into a folder; this module re-runs the daily
consolidations of those days with the current build (:mod:`animas_consolidator.replay_runs`),
writes the knowledge they produce into a shadow folder and prints, per run, whether the prompt
changed (its diff) and whether the decisions did, then the diff of every knowledge file the runs
wrote against today's. It needs no broker, no model and no anima files.

Run as ``python -m animas_consolidator.replay NAME FROM TO --today DIR --shadow DIR < events.jsonl``.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path

import msgspec

from animas_consolidator.domain.citations import is_knowledge_path
from animas_consolidator.replay_runs import Replay, RunReplay, recorded_runs, replay
from animas_contracts import ContractError, decode_event


class UnsafePath(ValueError):
    """A recorded path that would leave the folder it is written to or read from."""


def knowledge_diff(result: Replay, today: Mapping[str, str]) -> list[tuple[str, tuple[str, ...]]]:
    """Each knowledge file the runs wrote, and its diff from today's file to the replayed one."""
    diffs = []
    for path in sorted(result.touched):
        now, replayed = today.get(path), result.shadow.get(path)
        diff = difflib.unified_diff(
            (now or "").splitlines(),
            (replayed or "").splitlines(),
            f"today/{path}" if now is not None else "/dev/null",
            f"replay/{path}" if replayed is not None else "/dev/null",
            lineterm="",
        )
        diffs.append((path, () if now == replayed else tuple(diff) or ("(differs in whitespace only)",)))
    return diffs


def render(result: Replay, left_out: Sequence[str], diffs: Sequence[tuple[str, tuple[str, ...]]]) -> str:
    """The report as the CLI prints it."""
    lines = [f"replayed {len(result.runs)} daily run(s) with the current build"]
    lines += [f"left out: {reason}" for reason in left_out]
    for run in result.runs:
        lines += _run_lines(run)
    changed = [(path, diff) for path, diff in diffs if diff]
    if not diffs:
        lines.append("knowledge: the runs wrote no knowledge files")
    elif not changed:
        lines.append(
            f"knowledge: identical to the anima's knowledge today ({len(diffs)} file(s) the runs wrote)"
        )
    else:
        lines.append(f"knowledge: {len(changed)} of {len(diffs)} file(s) the runs wrote differ from today's")
        for _, diff in changed:
            lines += list(diff)
    return "\n".join(lines)


def _run_lines(run: RunReplay) -> list[str]:
    inputs = run.run.inputs
    lines = [f"run {run.run.planned.run_id} ({inputs.day}, {len(inputs.sources)} source lines)"]
    lines.append(f"  prompt: {run.prompt_note}")
    lines += [f"  {line}" for line in run.prompt_diff]
    if run.replayed_keys == run.recorded_keys:
        lines.append(f"  decisions: identical to the recording ({len(run.recorded_keys)})")
    else:
        lines.append("  decisions: differ from the recording")
        lines += [f"    - {key}" for key in run.recorded_keys if key not in run.replayed_keys]
        lines += [f"    + {key}" for key in run.replayed_keys if key not in run.recorded_keys]
    lines += [f"  rejected: {reason}" for reason in run.rejections]
    if run.not_replayed:
        actions = ", ".join(sorted(set(run.not_replayed)))
        lines.append(
            f"  not replayed: {len(run.not_replayed)} decision(s) of the procedure stage ({actions})"
        )
    return lines


def read_today(folder: Path) -> dict[str, str]:
    """The knowledge files under ``folder`` (the anima's knowledge today, as the CLI wrote it)."""
    return {
        file.relative_to(folder).as_posix(): file.read_text(encoding="utf-8")
        for file in sorted(folder.rglob("*"))
        if file.is_file()
    }


def write_shadow(folder: Path, shadow: Mapping[str, str]) -> None:
    """Write the replayed knowledge files under ``folder``.

    Raises:
        UnsafePath: A recorded path is not a plain path under ``knowledge/``.
    """
    root = folder.resolve()
    for path, text in shadow.items():
        target = (root / path).resolve()
        if not is_knowledge_path(path) or not target.is_relative_to(root):
            raise UnsafePath(f"refusing to write {path!r}: not a knowledge file")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    """Read events from stdin, replay the daily runs of the days given, print the report."""
    parser = argparse.ArgumentParser(prog="python -m animas_consolidator.replay")
    parser.add_argument("anima")
    parser.add_argument("first", type=date.fromisoformat)
    parser.add_argument("last", type=date.fromisoformat)
    parser.add_argument("--today", type=Path, required=True, help="folder holding today's knowledge/")
    parser.add_argument("--shadow", type=Path, required=True, help="folder the replayed knowledge goes to")
    args = parser.parse_args(argv)
    try:
        events = [decode_event(line.encode()) for line in sys.stdin if line.strip()]
    except (ContractError, msgspec.DecodeError) as exc:
        print(f"error: an event does not decode: {exc}", file=sys.stderr)
        return 1
    runs, left_out = recorded_runs(events, args.anima, args.first, args.last)
    if not runs and not left_out:
        print(f"error: no daily consolidation of {args.anima} is recorded for those days", file=sys.stderr)
        return 1
    result = replay(runs)
    try:
        write_shadow(args.shadow, result.shadow)
    except UnsafePath as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(render(result, left_out, knowledge_diff(result, read_today(args.today))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
