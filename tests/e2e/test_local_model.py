"""Issue #8 end to end: a model with no API key, and any OpenAI-compatible local server.

The scripted LLM stands in for local servers here, so these run in CI; the test marked
``local_model`` starts the real bundled model (run it with ``pytest -m local_model``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.conftest import RunningSystem, start_system

from animas_tools.scripted_llm import ScriptedLLM, Turn

pytestmark = [pytest.mark.e2e, pytest.mark.nats, pytest.mark.slow]


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM() as server:
        yield server


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory, llm: ScriptedLLM) -> Iterator[RunningSystem]:
    # No model configured anywhere; the "bundled local model" is the scripted server.
    running = start_system(
        tmp_path_factory.mktemp("local") / "home", env={"ANIMAWORKS_LOCAL_MODEL_URL": llm.openai_base}
    )
    try:
        yield running
    finally:
        running.stop()


def test_without_any_key_the_local_default_answers_and_says_so(
    system: RunningSystem, llm: ScriptedLLM
) -> None:
    llm.load([Turn(match="What is your name?", text="I am sample.")])

    response = system.chat("sample", "What is your name?", timeout_s=90)

    body = response.json()
    assert (body["reply"], body["outcome"]) == ("I am sample.", "reply")
    assert "bundled local model smollm2-135m-instruct" in body["notice"] and "config.json" in body["notice"]
    request = [r for r in llm.requests if "What is your name?" in json.dumps(r["body"])][-1]["body"]
    assert request["model"] == "smollm2-135m-instruct" and "tools" not in request
    assert request["messages"][-1] == {"role": "user", "content": "What is your name?"}
    assert "You are sample, an AI assistant" in request["messages"][0]["content"]


def test_an_anima_configured_for_a_local_server_uses_it(system: RunningSystem, llm: ScriptedLLM) -> None:
    config = json.loads((system.home / "config.json").read_text())
    config["credentials"] = {"ollama": {"base_url": llm.openai_base}}
    config["animas"] = {"sample": {"model": "openai/llama3.2", "credential": "ollama"}}
    system.configure(config)
    llm.load([Turn(match="Which model are you?", text="A local llama.")])

    body = system.chat("sample", "Which model are you?", timeout_s=90).json()

    assert (body["reply"], body["model"], body["notice"]) == ("A local llama.", "llama3.2", None)
    request = [r for r in llm.requests if "Which model are you?" in json.dumps(r["body"])][-1]
    assert request["body"]["model"] == "llama3.2" and request["headers"].get("authorization") == "***"


@pytest.mark.local_model
def test_the_real_bundled_model_answers_with_no_key(tmp_path: Path) -> None:
    started = time.monotonic()
    running = start_system(tmp_path / "home", env={"ANIMAWORKS_LOCAL_MODEL": "true"})
    try:
        up_s = time.monotonic() - started
        asked = time.monotonic()
        body = running.chat("sample", "Say hello to the team.", timeout_s=300).json()
        reply_s = time.monotonic() - asked
        assert body["outcome"] == "reply" and body["reply"].strip(), body
        assert body["model"] == "smollm2-135m-instruct"
        status = running.anima("status").stdout
        assert "local model: http://127.0.0.1:" in status
        print(f"\nup in {up_s:.1f}s, first reply in {reply_s:.1f}s: {body['reply']!r}")
        health = httpx.get(running.info["local_model_url"].removesuffix("/v1") + "/health", timeout=5).json()
        print(f"local model health: {health}")
    finally:
        running.stop()
