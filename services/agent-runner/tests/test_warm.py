"""Warming the model client in the background: it runs once, off the caller's thread, and never raises."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading

import pytest

from animas_agent_runner.adapters import warm
from animas_agent_runner.adapters.warm import WARM_NICENESS, warm_in_background


def test_the_loader_runs_in_a_daemon_thread_of_its_own() -> None:
    ran: list[str] = []

    thread = warm_in_background(lambda: ran.append(threading.current_thread().name))
    thread.join(10)

    assert ran == ["agent-runner-warm"] and thread.daemon and not thread.is_alive()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a thread's own nice value is Linux's")
def test_the_loader_runs_at_a_lower_priority_than_the_service() -> None:
    service = os.getpriority(os.PRIO_PROCESS, 0)
    seen: list[int] = []

    warm_in_background(lambda: seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))).join(
        10
    )

    assert seen == [min(19, service + WARM_NICENESS)]
    assert os.getpriority(os.PRIO_PROCESS, 0) == service  # the caller's thread keeps its own


def test_a_failing_loader_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> None:
        raise ImportError("no litellm here")

    with caplog.at_level(logging.ERROR, logger="animas_agent_runner.adapters.warm"):
        warm_in_background(broken).join(10)

    assert [r.getMessage() for r in caplog.records] == ["warming the model client failed"]
    assert "no litellm here" in caplog.text


async def test_a_cycle_waits_for_the_libraries_without_stopping_the_event_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(warm, "_loaded", False)
    loads: list[str] = []
    release = threading.Event()

    def slow_import() -> None:
        loads.append(threading.current_thread().name)
        release.wait(10)

    async def heartbeat() -> int:
        beats = 0
        while not release.is_set():
            await asyncio.sleep(0.01)
            beats += 1
            if beats == 5:  # the loop kept running while the import held its thread
                release.set()
        return beats

    await asyncio.gather(warm.libraries_loaded(slow_import), heartbeat())
    await warm.libraries_loaded(slow_import)

    assert len(loads) == 1 and loads[0] != threading.current_thread().name
