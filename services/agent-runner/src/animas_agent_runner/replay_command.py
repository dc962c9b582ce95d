"""``python -m animas_agent_runner.replay_command range|fork``: the replayer of many cycles.

The ``anima replay range``, ``replay incident`` and ``replay fork`` commands pipe recorded events
(JSON lines, bodies inlined) into it; it replays every cycle among them
(:mod:`animas_agent_runner.replay_batch`) or forks them with another model
(:mod:`animas_agent_runner.replay_fork`), prints the report and writes its results under
``--shadow`` only. Exit codes: 0 done, 1 a cycle diverged (range) or a fork call failed, 2 bad input.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import msgspec

from animas_agent_runner.replay_batch import read_events, replay_range
from animas_agent_runner.replay_fork import fork_main
from animas_contracts import ContractError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m animas_agent_runner.replay_command")
    commands = parser.add_subparsers(dest="command", required=True)
    ranged = commands.add_parser("range", help="replay every cycle among the events on stdin")
    ranged.add_argument("--shadow", type=Path, required=True)
    fork = commands.add_parser("fork", help="run every cycle among the events again with another model")
    fork.add_argument("--shadow", type=Path, required=True)
    fork.add_argument("--model", required=True)
    fork.add_argument("--config", type=Path, required=True, help="config.json with the credentials")
    fork.add_argument("--credential", default=None, help="credential name (default: the anima's)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Events on stdin, the report on stdout, the results in the shadow."""
    args = _parser().parse_args(sys.argv[1:] if argv is None else list(argv))
    shadow: Path = args.shadow
    shadow.mkdir(parents=True, exist_ok=True)
    try:
        events = read_events(sys.stdin)
    except (ContractError, msgspec.DecodeError) as exc:
        print(f"error: the events given are not readable: {exc}", file=sys.stderr)
        return 2
    if args.command == "range":
        return replay_range(events, shadow)
    return fork_main(events, shadow, model=args.model, config=args.config, credential=args.credential)


if __name__ == "__main__":
    raise SystemExit(main())
