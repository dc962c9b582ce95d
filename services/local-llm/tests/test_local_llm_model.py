"""The real bundled model, started as ``python -m animas_local_llm`` twice: converted, then cached.

Marked ``local_model`` and left out of the default run: the root pytest ``addopts`` carries
``-m "not local_model"``, so ``pytest`` and ``just test`` deselect it. A later ``-m`` replaces that
one, so the test also skips itself unless the marker expression names ``local_model`` (``just
test-unit``'s ``-m "not nats and not e2e"`` would otherwise pick it up). Run it with::

    pytest -m local_model services/local-llm -s     # -s shows the measured times

It converts the GGUF into a temporary home (~20-30 s on two cores), then starts again from that
cache, and talks to the server the way agent-runner does: through litellm's OpenAI provider.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.local_model

QUESTION = [
    {"role": "system", "content": "Facts: the office wifi password is BLUE-42. The cafeteria opens at 8."},
    {"role": "user", "content": "What is the office wifi password?"},
]


@pytest.fixture(autouse=True)
def _only_when_asked(request: pytest.FixtureRequest) -> None:
    if "local_model" not in str(request.config.option.markexpr):
        pytest.skip("loads the real model: run with -m local_model")


@pytest.fixture
def litellm(monkeypatch: pytest.MonkeyPatch) -> Any:
    """litellm, imported with its local price list (its import would fetch one from the internet)."""
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    return litellm


@contextmanager
def local_llm(log: Path) -> Iterator[tuple[str, dict[str, Any], float]]:
    """The service as a process; yields its URL, its health once ready and the seconds that took."""
    started = time.monotonic()
    with log.open("w") as sink:
        process = subprocess.Popen([sys.executable, "-m", "animas_local_llm"], stderr=sink)
    try:
        url = ""
        while not url:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() - started < 60, "never listened"
            lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
            url = next((x["url"] for x in lines if x["msg"] == "local-llm listening"), "")
            time.sleep(0.1)
        while (health := httpx.get(url + "/health", timeout=5)).status_code != 200:
            assert health.json()["status"] == "loading", health.text
            assert time.monotonic() - started < 300, "never became ready"
            time.sleep(0.2)
        yield url, health.json(), time.monotonic() - started
    finally:
        process.terminate()
        process.wait(timeout=30)


async def test_the_bundled_model_writes_text_through_the_openai_api(
    tmp_path: Path, litellm: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANIMAWORKS_HOME", str(tmp_path))
    monkeypatch.setenv("ANIMAWORKS_LOCAL_LLM_PORT", "0")  # a free port, read back from the log
    times: dict[str, float] = {}
    with local_llm(tmp_path / "first.log") as (url, health, seconds):
        assert health["from_cache"] is False
        times |= {"first_start_s": seconds, "first_load_s": health["load_s"]}

        started = time.monotonic()
        reply = httpx.post(
            url + "/v1/chat/completions", json={"messages": QUESTION, "max_tokens": 40}, timeout=60
        )
        times["reply_s"] = time.monotonic() - started
        body = reply.json()
        text = body["choices"][0]["message"]["content"]
        assert text.strip()
        assert body["usage"]["completion_tokens"] > 0

    assert (tmp_path / "models" / "smollm2-135m-instruct" / "model.safetensors").is_file()
    with local_llm(tmp_path / "second.log") as (url, health, seconds):
        assert health["from_cache"] is True
        times |= {"second_start_s": seconds, "second_load_s": health["load_s"]}

        started = time.monotonic()
        stream = await litellm.acompletion(
            model="openai/smollm2-135m-instruct",
            api_base=url + "/v1",
            api_key="none",
            messages=QUESTION,
            max_tokens=40,
            stream=True,
            stream_options={"include_usage": True},
        )
        pieces: list[str] = []
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                if not pieces:
                    times["stream_first_token_s"] = time.monotonic() - started
                pieces.append(chunk.choices[0].delta.content)
        times["stream_s"] = time.monotonic() - started
    streamed = "".join(pieces)
    assert streamed.strip()
    print(f"\nlocal model: {json.dumps({k: round(v, 2) for k, v in times.items()})}")
    print(f"reply: {text!r}\nstreamed: {streamed!r}")
