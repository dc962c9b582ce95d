"""Named fault points for chaos testing: reaching an enabled point kills the process at once.

A point is enabled by listing its name in ``ANIMAWORKS_FAULTS`` (read into the service's
settings). Nothing is enabled by default; production never sets it. The crash tests use these
to die in exact windows that a signal from outside could only hit by luck.
"""

from __future__ import annotations

import logging
import os
import signal

_log = logging.getLogger(__name__)


class FaultPoints:
    """The set of enabled fault points of one process."""

    def __init__(self, spec: str) -> None:
        self._enabled = frozenset(p.strip() for p in spec.split(",") if p.strip())

    def reach(self, name: str) -> None:
        """Kill this process with SIGKILL if ``name`` is enabled; otherwise do nothing."""
        if name in self._enabled:
            _log.warning("fault point reached; killing the process", extra={"fault_point": name})
            for handler in logging.getLogger().handlers:
                handler.flush()
            os.kill(os.getpid(), signal.SIGKILL)
