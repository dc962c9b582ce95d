"""The model under test: any OpenAI-compatible chat server, or the local-llm service started here.

The benchmark only speaks HTTP to ``<base>/chat/completions`` (greedy, not streamed), so it
measures a server exactly as agent-runner would reach it. :func:`local_llm_server` starts
``python -m animas_local_llm`` on a free port with a given or temporary ``ANIMAWORKS_HOME`` and
waits until its ``/health`` says ``ready``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

LOCAL_MODEL = "smollm2-135m-instruct"
"""The model name the local-llm service serves."""


@dataclasses.dataclass(frozen=True)
class ModelReply:
    """One answer and what it cost."""

    text: str
    seconds: float
    prompt_tokens: int | None
    completion_tokens: int | None
    finish_reason: str | None = None
    """``length`` when the reply was cut at ``max_tokens``."""


class OpenAIChat:
    """A greedy chat-completions client for one model on one OpenAI-compatible server."""

    def __init__(
        self, base_url: str, model: str, *, max_tokens: int = 48, timeout_s: float = 300.0, api_key: str = ""
    ) -> None:
        """Prepare a client; ``base_url`` ends in ``/v1`` (``http://127.0.0.1:18511/v1``)."""
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.max_tokens = max_tokens
        headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(timeout=timeout_s, headers=headers)

    def chat(self, system: str, user: str) -> ModelReply:
        """Ask ``user`` under the system prompt ``system``, temperature 0."""
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
            "temperature": 0,
            "max_tokens": self.max_tokens,
            "stream": False,
        }
        started = time.perf_counter()
        response = self._client.post(f"{self.base_url}/chat/completions", json=body)
        seconds = time.perf_counter() - started
        response.raise_for_status()
        data = response.json()
        usage = data.get("usage") or {}
        choice = data["choices"][0]
        return ModelReply(
            text=str(choice["message"].get("content") or ""),
            seconds=seconds,
            prompt_tokens=usage.get("prompt_tokens"),
            completion_tokens=usage.get("completion_tokens"),
            finish_reason=choice.get("finish_reason"),
        )

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()


@dataclasses.dataclass(frozen=True)
class StartedServer:
    """A local-llm process this benchmark started, and how long it took to become ready."""

    base_url: str
    ready_s: float
    health: dict[str, Any]


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout_s: float) -> dict[str, Any]:
    """Poll ``<url>/health`` until it says ``ready``; fail early when the process exits or it fails."""
    deadline = time.monotonic() + timeout_s
    last: dict[str, Any] = {}
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"local-llm exited with status {process.returncode} before it was ready")
        with contextlib.suppress(httpx.HTTPError, ValueError):
            last = httpx.get(f"{url}/health", timeout=5.0).json()
            if last.get("status") == "ready":
                return last
            if last.get("status") == "failed":
                raise RuntimeError(f"local-llm failed to load its model: {last.get('error')}")
        time.sleep(0.5)
    raise TimeoutError(f"local-llm not ready after {timeout_s:.0f} s (last health: {last})")


@contextlib.contextmanager
def local_llm_server(home: Path | None, log: Path, timeout_s: float = 600.0) -> Iterator[StartedServer]:
    """Run ``python -m animas_local_llm`` on a free port until the block ends.

    Args:
        home: ``ANIMAWORKS_HOME`` for the server (its converted-weights cache lives there);
            ``None`` uses a temporary one, so the model is converted from the GGUF on this start.
        log: Where the server's output goes.
        timeout_s: How long to wait for ``/health`` to say ``ready``.
    """
    with contextlib.ExitStack() as stack:
        if home is None:
            home = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="underdog-home-")))
        port = free_port()
        env = dict(os.environ)  # noqa: TID251 (a child process inherits ours, plus its own settings)
        env.update({"ANIMAWORKS_HOME": str(home), "ANIMAWORKS_LOCAL_LLM_PORT": str(port)})
        output = stack.enter_context(log.open("wb"))
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "animas_local_llm"], env=env, stdout=output, stderr=subprocess.STDOUT
        )
        try:
            url = f"http://127.0.0.1:{port}"
            health = wait_ready(url, process, timeout_s)
            yield StartedServer(f"{url}/v1", time.perf_counter() - started, health)
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
