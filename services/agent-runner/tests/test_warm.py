"""Warming the model client in the background: it runs once, off the caller's thread, and never raises."""

from __future__ import annotations

import logging
import os
import sys
import threading

import pytest

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
