"""AnimaWorks as `anima up` starts it, with the bundled local model, in a temporary home.

The benchmark speaks to it only as a user does: the gateway's chat endpoint and the ``anima``
CLI. The scheduler is paused (``ANIMAWORKS_SCHEDULER_PAUSED``) so no heartbeat or scheduled
consolidation runs between the benchmark's own steps: every consolidation is one it asked for.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

CHAT_TIMEOUT_S = 600.0
"""A reply of the local model on a busy 2-core machine, the first one waiting for the model to load."""


class LocalSystem:
    """One `anima up` process and the address it recorded."""

    def __init__(self, home: Path, log: Path, env: Mapping[str, str] | None = None) -> None:
        """Prepare; ``env`` adds variables (a test points ``ANIMAWORKS_LOCAL_MODEL_URL`` elsewhere)."""
        self.home = home
        self.log = log
        self._env = {
            **os.environ,  # noqa: TID251 (the children inherit ours, plus the home and these switches)
            "ANIMAWORKS_HOME": str(home),
            "ANIMAWORKS_LOCAL_MODEL": "true",
            "ANIMAWORKS_SCHEDULER_PAUSED": "true",
            **(env or {}),
        }
        self._process: subprocess.Popen[bytes] | None = None
        self.gateway_url = ""

    def start(self, timeout_s: float = 300.0) -> None:
        """Run `anima up` on a free gateway port and wait until it records where it runs."""
        self.home.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as output:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "animas_tools.cli", "up", "--home", str(self.home), "--port", "0"],
                env=self._env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        system_file = self.home / "run" / "system.json"
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"anima up exited with {self._process.returncode}; see {self.log}")
            if system_file.exists():
                self.gateway_url = str(json.loads(system_file.read_text())["gateway_url"])
                return
            time.sleep(0.2)
        raise TimeoutError(f"anima up not ready after {timeout_s:.0f} s; see {self.log}")

    def chat(self, anima: str, message: str, sender: str, thread_id: str) -> dict[str, Any]:
        """Send a person's chat message and return the gateway's answer (``reply``, ``outcome`` …)."""
        response = httpx.post(
            f"{self.gateway_url}/api/animas/{anima}/chat",
            json={"message": message, "sender": sender, "thread_id": thread_id},
            timeout=CHAT_TIMEOUT_S,
        )
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    def cli(self, *args: str) -> str:
        """Run ``anima ARGS`` against this system; its output, or an error saying why it failed."""
        result = subprocess.run(
            [sys.executable, "-m", "animas_tools.cli", *args],
            env=self._env,
            capture_output=True,
            text=True,
            timeout=CHAT_TIMEOUT_S,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"anima {' '.join(args)} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
            )
        return result.stdout

    def stop(self) -> None:
        """Stop the system as Ctrl-C would."""
        if self._process is None or self._process.poll() is not None:
            return
        self._process.send_signal(signal.SIGINT)
        try:
            self._process.wait(60)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
