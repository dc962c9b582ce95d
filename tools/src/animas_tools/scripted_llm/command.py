"""``python -m animas_tools.scripted_llm``: serve a script file until SIGTERM or SIGINT.

Kept apart from ``__main__`` so ``anima scripted-llm`` can call :func:`main` through the package
without the package importing its own ``__main__`` (which makes ``python -m`` warn).
"""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

import msgspec

from animas_tools.scripted_llm.script import to_turns
from animas_tools.scripted_llm.server import ScriptedLLM


def main(argv: Sequence[str] | None = None) -> None:
    """Serve a script file until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(
        prog="python -m animas_tools.scripted_llm",
        description="A scripted fake LLM speaking the OpenAI and Anthropic wire formats.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--script", type=Path, required=True, help='JSON: a list of turns or {"turns": [...], "repeat": bool}'
    )
    parser.add_argument("--repeat", action="store_true", help="loop over the script")
    parser.add_argument("--url-file", type=Path, help="write the listening URL here")
    args = parser.parse_args(argv)
    try:
        raw = msgspec.json.decode(args.script.read_bytes())
        spec = raw if isinstance(raw, dict) else {"turns": raw}
        turns = to_turns(spec["turns"])
        repeat = bool(args.repeat or spec.get("repeat", False))
    except (OSError, KeyError, TypeError, msgspec.MsgspecError) as exc:
        parser.error(f"bad script {args.script}: {exc!r}")

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with ScriptedLLM(turns, repeat=repeat, host=args.host, port=args.port) as llm:
        print(f"scripted LLM listening on {llm.url}", flush=True)
        if args.url_file is not None:
            # Write then rename so a watcher polling for the file never reads half a URL.
            partial = args.url_file.with_name(args.url_file.name + ".partial")
            partial.write_text(llm.url, encoding="utf-8")
            partial.replace(args.url_file)
        # A timed wait keeps the main thread responsive to signals on every platform.
        while not stop.wait(0.5):
            pass
