"""The probe file and the probe command the Kubernetes exec probes run (clock injected)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from animas_core.probe import ProbeFile, main, verdict


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_fresh_report_is_live_and_ready(tmp_path: Path) -> None:
    clock = Clock(1000.0)
    probe = ProbeFile(tmp_path / "probe.json", clock)
    probe.beat(reported=True)
    assert verdict(probe.path, "live", 60, now=1010.0) is None
    assert verdict(probe.path, "ready", 30, now=1010.0) is None


def test_a_broker_outage_makes_it_unready_but_not_dead(tmp_path: Path) -> None:
    clock = Clock(1000.0)
    probe = ProbeFile(tmp_path / "probe.json", clock)
    probe.beat(reported=True)
    for t in (1005.0, 1010.0, 1040.0):  # NATS refuses every later report; the loop keeps running
        clock.now = t
        probe.beat(reported=False)
    assert verdict(probe.path, "live", 60, now=1045.0) is None
    assert verdict(probe.path, "ready", 30, now=1045.0) == (
        "last health report NATS accepted 45 s ago (more than 30 s)"
    )
    clock.now = 1050.0
    probe.beat(reported=True)
    assert verdict(probe.path, "ready", 30, now=1050.0) is None


def test_a_stuck_loop_is_dead(tmp_path: Path) -> None:
    probe = ProbeFile(tmp_path / "probe.json", Clock(1000.0))
    probe.beat(reported=True)
    assert verdict(probe.path, "live", 60, now=1061.0) == "health loop last ran 61 s ago (more than 60 s)"


def test_never_reported_and_no_file(tmp_path: Path) -> None:
    probe = ProbeFile(tmp_path / "probe.json", Clock(1000.0))
    assert verdict(probe.path, "live", 60, now=1000.0) is not None  # not written yet
    probe.beat(reported=False)
    assert verdict(probe.path, "live", 60, now=1000.0) is None
    assert verdict(probe.path, "ready", 30, now=1000.0) == "never reported health to NATS"


def test_the_command_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "probe.json"
    ProbeFile(path, Clock(1000.0)).beat(reported=True)
    assert main(["ready", "--file", str(path)], now=lambda: 1020.0) == 0
    assert main(["ready", "--file", str(path), "--max-age", "10"], now=lambda: 1020.0) == 1
    assert "20 s ago (more than 10 s)" in capsys.readouterr().err


def test_the_module_runs_as_the_probes_run_it(tmp_path: Path) -> None:
    # As the kubelet runs it: a new interpreter, `python -m animas_core.probe ...`.
    missing = subprocess.run(
        [sys.executable, "-m", "animas_core.probe", "live", "--file", str(tmp_path / "none.json")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert missing.returncode == 1 and "no probe file" in missing.stderr
