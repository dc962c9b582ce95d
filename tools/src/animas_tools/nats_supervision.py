"""The embedded nats-server kept alive: restarted on its same port when it dies (issue #12, item 4).

Services reconnect to the one URL they were given and never give up (animas_core.broker), so a
server that comes back on the same port with the same JetStream store is all they need: streams,
durable consumers and KV buckets are on disk and resume where they were.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from animas_tools.nats_server import NatsServer, NatsServerError

RESTART_BACKOFF_S = (0.2, 0.5, 1.0, 2.0, 5.0)
"""The broker is what every service waits for: the first restart is almost immediate."""
STABLE_AFTER_S = 60.0
"""A server that ran this long without dying starts its backoff again from the beginning."""


class SupervisedNats:
    """Watches one embedded :class:`NatsServer` and restarts it with backoff."""

    def __init__(
        self,
        server: NatsServer,
        say: Callable[[str], None],
        *,
        clock: Callable[[], float] = time.monotonic,
        start_timeout_s: float = 10.0,
    ) -> None:
        self.server = server
        self._say = say
        self._clock = clock
        self._start_timeout_s = start_timeout_s
        self._started_at = clock()
        self._failures_in_a_row = 0
        self._restart_at: float | None = None
        self.restarts = 0

    @property
    def pid(self) -> int | None:
        """The running server's pid."""
        return self.server.pid

    def check(self) -> bool:
        """Restart the server if it died and its backoff has passed; True when it was restarted."""
        now = self._clock()
        if self._restart_at is None:
            process = self.server.process
            if process is None or process.poll() is None:
                return False
            ran_for = now - self._started_at
            self._schedule(
                now, ran_for, f"nats-server exited with code {process.returncode} after {ran_for:.1f}s"
            )
            return False
        if now < self._restart_at:
            return False
        try:
            self.server.start(self._start_timeout_s)
        except NatsServerError as exc:
            # Say why (a port taken meanwhile names its holder) and keep trying: the services wait.
            self._schedule(self._clock(), 0.0, f"nats-server did not start again: {exc}")
            return False
        self._started_at = self._clock()
        self._restart_at = None
        self.restarts += 1
        self._say(f"restarted nats-server on {self.server.url} (restart #{self.restarts}, pid {self.pid})")
        return True

    def _schedule(self, now: float, ran_for: float, what: str) -> None:
        self._failures_in_a_row = 1 if ran_for > STABLE_AFTER_S else self._failures_in_a_row + 1
        delay = RESTART_BACKOFF_S[min(self._failures_in_a_row, len(RESTART_BACKOFF_S)) - 1]
        self._restart_at = now + delay
        log = self.server.work_dir / "nats-server.log"
        self._say(f"{what}; restarting in {delay:g}s (log: {log})")
