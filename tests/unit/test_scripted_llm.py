"""Tests for the scripted fake LLM server (animas_tools.scripted_llm)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from animas_tools.scripted_llm import ScriptedLLM, Turn

MESSAGES = [{"role": "user", "content": "say hello please"}]


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as c:
        yield c


def chat(client: httpx.Client, llm: ScriptedLLM, **extra: Any) -> httpx.Response:
    body = {"model": "scripted", "messages": MESSAGES, **extra}
    return client.post(llm.openai_base + "/chat/completions", json=body)


def test_replies_follow_the_script_in_order(client: httpx.Client) -> None:
    with ScriptedLLM([{"text": "one"}, Turn(text="two words")]) as llm:
        first = chat(client, llm, model="gpt-test")
        second = chat(client, llm)
    assert first.status_code == 200
    data = first.json()
    assert data["id"] == "chatcmpl-scripted-1"
    assert data["object"] == "chat.completion"
    assert data["model"] == "gpt-test"
    assert isinstance(data["created"], int)
    assert data["choices"] == [
        {"index": 0, "message": {"role": "assistant", "content": "one"}, "finish_reason": "stop"}
    ]
    # The usage is a word count: 3 words in the prompt, 1 in the reply.
    assert data["usage"] == {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}
    assert second.json()["choices"][0]["message"]["content"] == "two words"
    assert second.json()["id"] == "chatcmpl-scripted-2"


def test_explicit_token_counts_and_list_content(client: httpx.Client) -> None:
    turns = [Turn(text="a b c", prompt_tokens=100, completion_tokens=7), Turn(text="x")]
    with ScriptedLLM(turns) as llm:
        explicit = chat(client, llm).json()["usage"]
        parts = [{"role": "user", "content": [{"type": "text", "text": "four words in here"}]}]
        counted = chat(client, llm, messages=parts).json()["usage"]
    assert explicit == {"prompt_tokens": 100, "completion_tokens": 7, "total_tokens": 107}
    assert counted == {"prompt_tokens": 4, "completion_tokens": 1, "total_tokens": 5}


def test_requests_are_recorded_with_secrets_redacted(client: httpx.Client) -> None:
    with ScriptedLLM([{"text": "ok"}]) as llm:
        client.post(
            llm.openai_base + "/chat/completions",
            json={"model": "m", "messages": MESSAGES},
            headers={"Authorization": "Bearer sk-secret", "X-Api-Key": "key-secret", "X-Trace": "t-1"},
        )
        assert llm.wait_for_requests(1, timeout_s=1)
        recorded = llm.requests
        over_http = client.get(llm.url + "/_requests").json()
    assert len(recorded) == 1
    request = recorded[0]
    assert request["path"] == "/v1/chat/completions"
    assert request["body"] == {"model": "m", "messages": MESSAGES}
    assert request["headers"]["authorization"] == "***"
    assert request["headers"]["x-api-key"] == "***"
    assert request["headers"]["x-trace"] == "t-1"
    assert "secret" not in json.dumps(recorded)
    assert over_http == recorded


def test_exhausted_script_answers_500(client: httpx.Client) -> None:
    with ScriptedLLM([{"text": "only"}]) as llm:
        assert chat(client, llm).status_code == 200
        response = chat(client, llm)
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["message"] == "scripted LLM: script exhausted after 1 turns"
    assert error["type"] == "server_error"
    assert error["code"] == "script_exhausted"


def test_repeat_starts_over(client: httpx.Client) -> None:
    with ScriptedLLM([{"text": "a"}, {"text": "b"}], repeat=True) as llm:
        texts = [chat(client, llm).json()["choices"][0]["message"]["content"] for _ in range(5)]
    assert texts == ["a", "b", "a", "b", "a"]


def test_error_status_turns(client: httpx.Client) -> None:
    turns = [Turn(status=429, error="slow down"), Turn(status=503), Turn(text="recovered")]
    with ScriptedLLM(turns) as llm:
        limited, unavailable, ok = chat(client, llm), chat(client, llm), chat(client, llm)
    assert limited.status_code == 429
    assert limited.json()["error"]["message"] == "slow down"
    assert limited.json()["error"]["type"] == "rate_limit_error"
    assert unavailable.status_code == 503
    assert set(unavailable.json()["error"]) == {"message", "type", "code"}
    assert ok.json()["choices"][0]["message"]["content"] == "recovered"


def test_delay(client: httpx.Client) -> None:
    with ScriptedLLM([Turn(text="late", delay_s=0.3)]) as llm:
        started = time.monotonic()
        assert chat(client, llm).status_code == 200
    assert time.monotonic() - started >= 0.3


def test_hold_until_release_from_another_thread(client: httpx.Client) -> None:
    results: list[httpx.Response] = []
    with ScriptedLLM([Turn(text="held", hold=True)]) as llm:
        worker = threading.Thread(target=lambda: results.append(chat(client, llm)))
        worker.start()
        assert llm.wait_for_requests(1, timeout_s=5)
        time.sleep(0.2)
        assert results == []
        # A held request does not block the rest of the server.
        health = client.get(llm.url + "/_health").json()
        assert health == {"ok": True, "served": 1, "remaining": 0}
        threading.Thread(target=llm.release).start()
        worker.join(timeout=5)
    assert not worker.is_alive()
    assert results[0].json()["choices"][0]["message"]["content"] == "held"


def test_release_over_http(client: httpx.Client) -> None:
    results: list[httpx.Response] = []
    with ScriptedLLM([Turn(text="held", hold=True)]) as llm:
        worker = threading.Thread(target=lambda: results.append(chat(client, llm)))
        worker.start()
        # No sleep needed: once a request is visible, it is registered as held.
        assert llm.wait_for_requests(1, timeout_s=5)
        released = client.post(llm.url + "/_release").json()["released"]
        worker.join(timeout=5)
        assert client.post(llm.url + "/_release").json()["released"] == 0
    assert released == 1
    assert results[0].status_code == 200


def test_hold_times_out(client: httpx.Client) -> None:
    with ScriptedLLM([Turn(text="eventually", hold=True)], hold_timeout_s=0.2) as llm:
        response = chat(client, llm)
    assert response.json()["choices"][0]["message"]["content"] == "eventually"


def test_stop_releases_held_and_delayed_requests(client: httpx.Client) -> None:
    results: list[httpx.Response] = []
    llm = ScriptedLLM([Turn(text="bye", hold=True), Turn(text="slow", delay_s=30)]).start()
    slow = threading.Thread(target=lambda: results.append(chat(client, llm)))
    worker = threading.Thread(target=lambda: results.append(chat(client, llm)))
    worker.start()
    assert llm.wait_for_requests(1, timeout_s=5)
    slow.start()
    assert llm.wait_for_requests(2, timeout_s=5)
    started = time.monotonic()
    llm.stop()
    worker.join(timeout=5)
    slow.join(timeout=5)
    assert time.monotonic() - started < 5
    texts = sorted(r.json()["choices"][0]["message"]["content"] for r in results)
    assert texts == ["bye", "slow"]


def test_script_control_endpoint_and_load(client: httpx.Client) -> None:
    with ScriptedLLM() as llm:
        assert chat(client, llm).status_code == 500
        loaded = client.post(llm.url + "/_script", json={"turns": [{"text": "new"}], "repeat": True})
        assert loaded.status_code == 200
        assert [chat(client, llm).json()["choices"][0]["message"]["content"] for _ in range(2)] == [
            "new",
            "new",
        ]
        bad = client.post(llm.url + "/_script", json={"turns": [{"txet": "typo"}]})
        assert bad.status_code == 400
        assert "invalid turn" in bad.json()["error"]["message"]
        assert client.post(llm.url + "/_script", json={"turns": "x"}).status_code == 400
        llm.load([Turn(text="direct")])
        assert client.get(llm.url + "/_health").json() == {"ok": True, "served": 2, "remaining": 1}
        assert chat(client, llm).json()["choices"][0]["message"]["content"] == "direct"


@pytest.mark.parametrize("payload", [b"{not json", b"", b"[1, 2]"])
def test_malformed_json_is_a_400(client: httpx.Client, payload: bytes) -> None:
    with ScriptedLLM([{"text": "unused"}]) as llm:
        for path in ("/v1/chat/completions", "/_script"):
            response = client.post(
                llm.url + path, content=payload, headers={"Content-Type": "application/json"}
            )
            assert response.status_code == 400
            assert response.json()["error"]["type"] == "invalid_request_error"
            assert "Traceback" not in response.text
        # The bad request consumed no turn.
        assert chat(client, llm).status_code == 200


def test_unknown_path_is_a_404(client: httpx.Client) -> None:
    with ScriptedLLM() as llm:
        response = client.get(llm.url + "/v1/models")
        wrong_method = client.get(llm.openai_base + "/chat/completions")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert wrong_method.status_code == 404


def test_a_matching_turn_is_taken_by_the_request_that_names_it(client: httpx.Client) -> None:
    turns = [{"text": "for bob", "match": "I am bob"}, {"text": "for anyone"}]
    with ScriptedLLM(turns) as llm:
        first = chat(client, llm, messages=[{"role": "user", "content": "hello"}])
        second = chat(client, llm, messages=[{"role": "user", "content": "I am bob"}])
        third = chat(client, llm, messages=[{"role": "user", "content": "hello again"}])
    assert first.json()["choices"][0]["message"]["content"] == "for anyone"
    assert second.json()["choices"][0]["message"]["content"] == "for bob"
    assert third.status_code == 500 and "script exhausted" in third.json()["error"]["message"]


def test_url_requires_start() -> None:
    llm = ScriptedLLM()
    with pytest.raises(RuntimeError):
        _ = llm.url
    with llm:
        assert llm.url.startswith("http://127.0.0.1:")
        assert llm.openai_base == llm.url + "/v1"


def test_through_litellm(monkeypatch: pytest.MonkeyPatch) -> None:
    # Set before the import: litellm would otherwise fetch its cost map from the internet.
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    with ScriptedLLM([Turn(text="hello from the script", prompt_tokens=11)]) as llm:
        response = litellm.completion(
            model="openai/scripted",
            api_base=llm.openai_base,
            api_key="test-key",
            messages=[{"role": "user", "content": "hi"}],
        )
        recorded = llm.requests
    assert response.choices[0].message.content == "hello from the script"
    assert response.usage.prompt_tokens == 11
    assert response.usage.completion_tokens == 4
    assert response.usage.total_tokens == 15
    assert recorded[0]["body"]["model"] == "scripted"
    assert recorded[0]["headers"]["authorization"] == "***"


def test_cli_serves_a_script_file_until_sigterm(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"turns": [{"text": "from file"}], "repeat": True}))
    url_file = tmp_path / "url.txt"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "animas_tools.scripted_llm",
            "--port",
            "0",
            "--script",
            str(script),
            "--url-file",
            str(url_file),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while not url_file.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        url = url_file.read_text()
        body = {"model": "m", "messages": MESSAGES}
        for _ in range(2):
            reply = httpx.post(url + "/v1/chat/completions", json=body, timeout=10)
            assert reply.json()["choices"][0]["message"]["content"] == "from file"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert out.strip() == f"scripted LLM listening on {url}"
    assert err == ""


def test_cli_rejects_a_bad_script(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps([{"text": 5}]))
    proc = subprocess.run(
        [sys.executable, "-m", "animas_tools.scripted_llm", "--script", str(script)],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert proc.returncode == 2
    assert "bad script" in proc.stderr
