"""Liveness and readiness of a service that has no HTTP port: a file its runtime keeps fresh.

Where the setting ``probe_file`` is set (``ANIMAWORKS_PROBE_FILE``: the Kubernetes manifests set
it, ``anima up`` does not), the runtime's health loop rewrites that file every
``health_interval_s`` with two times:

- ``alive``: the loop ran. Stale means the event loop is stuck: the liveness probe fails and
  the kubelet restarts the container.
- ``ready``: the last health report that NATS accepted. Stale means the service cannot reach
  the broker: the readiness probe fails (a rollout waits; nothing restarts, since the client
  reconnects by itself and a restart would not bring the broker back).

The probes run ``python -m animas_core.probe live|ready --file PATH [--max-age SECONDS]``: exit 0
when the time is recent enough, 1 with the reason on stderr otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

DEFAULT_MAX_AGE_S = {"live": 60.0, "ready": 30.0}
"""Several health intervals (5 s by default), so one slow round is not a failure."""


class ProbeFile:
    """Writes the probe file: atomically, so a probe never reads half a file."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self._clock = clock
        self._ready: float | None = None

    def beat(self, *, reported: bool) -> None:
        """One round of the health loop; ``reported``: NATS took this round's health record."""
        now = self._clock()
        if reported:
            self._ready = now
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps({"alive": now, "ready": self._ready}), encoding="utf-8")
        tmp.replace(self.path)


def verdict(path: Path, kind: str, max_age_s: float, now: float) -> str | None:
    """None when ``kind`` (``live`` or ``ready``) is at most ``max_age_s`` old; else why not."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        return f"no probe file {path}: {error}"
    stamp = data.get("alive" if kind == "live" else "ready") if isinstance(data, dict) else None
    if not isinstance(stamp, int | float):
        return "never reported health to NATS" if kind == "ready" else "the health loop never ran"
    age = now - stamp
    if age > max_age_s:
        what = "last health report NATS accepted" if kind == "ready" else "health loop last ran"
        return f"{what} {age:.0f} s ago (more than {max_age_s:.0f} s)"
    return None


def main(argv: list[str], now: Callable[[], float] = time.time) -> int:
    """The probe command: 0 when the file says ``live`` / ``ready`` recently enough, else 1."""
    parser = argparse.ArgumentParser(prog="python -m animas_core.probe")
    parser.add_argument("kind", choices=sorted(DEFAULT_MAX_AGE_S))
    parser.add_argument("--file", type=Path, required=True, help="the service's probe_file setting")
    parser.add_argument("--max-age", type=float, default=None, help="seconds")
    args = parser.parse_args(argv)
    reason = verdict(args.file, args.kind, args.max_age or DEFAULT_MAX_AGE_S[args.kind], now())
    if reason is not None:
        print(reason, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
