"""Warming the model client in the background: it runs once, off the caller's thread, and never raises."""

from __future__ import annotations

import logging
import threading

import pytest

from animas_agent_runner.adapters.warm import warm_in_background


def test_the_loader_runs_in_a_daemon_thread_of_its_own() -> None:
    ran: list[str] = []

    thread = warm_in_background(lambda: ran.append(threading.current_thread().name))
    thread.join(10)

    assert ran == ["agent-runner-warm"] and thread.daemon and not thread.is_alive()


def test_a_failing_loader_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> None:
        raise ImportError("no litellm here")

    with caplog.at_level(logging.ERROR, logger="animas_agent_runner.adapters.warm"):
        warm_in_background(broken).join(10)

    assert [r.getMessage() for r in caplog.records] == ["warming the model client failed"]
    assert "no litellm here" in caplog.text
