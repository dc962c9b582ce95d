"""Load litellm and the token counter in the background when the bundled local model is in use.

Both are imported when first needed (``model_info.litellm_module``, ``prompt.tokens``) so that a
start that never calls a model pays nothing. With the bundled model every cycle needs both, and
the first person to chat paid the import in their first reply: ~4-7 s of CPU on two cores, most of
the first reply's delay beyond the model itself (measured through `anima up`, issue #15 item 7).
So when agent-runner serves the local model it loads them in a daemon thread right after start-up,
while nobody is waiting; a cycle that comes first simply waits on Python's import lock.

Every cycle also awaits :func:`libraries_loaded` before its first model-related call: the import
runs in a worker thread, never on the event loop. Run on the loop, it stopped the in-progress acks
of every message the process held for as long as it took (seconds, far more on a busy machine), so
JetStream handed a running cycle to another replica, which called the model a second time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable

_log = logging.getLogger(__name__)

WARM_NICENESS = 10
"""How much lower than the service's own the warming thread's CPU priority is."""


def _load() -> None:
    from animas_agent_runner.adapters.model_info import litellm_module
    from animas_agent_runner.prompt.tokens import count_tokens

    litellm_module()
    count_tokens("warm")


_loaded = False


async def libraries_loaded(load: Callable[[], None] = _load) -> None:
    """Return once litellm and the token counter are imported, importing them off the event loop."""
    global _loaded
    if not _loaded:
        await asyncio.to_thread(load)
        _loaded = True


def warm_in_background(load: Callable[[], None] = _load) -> threading.Thread:
    """Run ``load`` in a daemon thread (a stop never waits on it); failures are only logged."""

    def run() -> None:
        # At a lower priority (Linux: a thread has its own nice value): the other services are
        # starting at the same time, and `anima up` waits for them, not for this.
        with contextlib.suppress(AttributeError, OSError):
            me = threading.get_native_id()
            os.setpriority(os.PRIO_PROCESS, me, min(19, os.getpriority(os.PRIO_PROCESS, me) + WARM_NICENESS))
        started = time.monotonic()
        try:
            load()
        except Exception:  # the first cycle imports it again and reports the failure itself
            _log.exception("warming the model client failed")
            return
        _log.info("model client warm", extra={"seconds": round(time.monotonic() - started, 2)})

    thread = threading.Thread(target=run, name="agent-runner-warm", daemon=True)
    thread.start()
    return thread
