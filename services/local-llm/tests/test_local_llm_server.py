"""The HTTP layer against a fake model, through a real uvicorn on a random port (lifespan included).

A real server rather than httpx's ASGI transport because that transport buffers the whole body:
streaming, a client that goes away mid-stream and the queue of waiting requests need real sockets.
The fake counts words as tokens and records how many generations run at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

import httpx
import pytest
import uvicorn

from animas_local_llm.engine import Engine
from animas_local_llm.ports import MODEL_NAME, ChatMessage, LocalModel
from animas_local_llm.server import create_app

REPLY = "The office wifi password is BLUE-42 ."
QUESTION: list[dict[str, Any]] = [
    {"role": "system", "content": "Facts: the office wifi password is BLUE-42."},
    {"role": "user", "content": "What is the office wifi password?"},
]
PROMPT_TOKENS = 16  # the fake's count: words of both messages plus 3 for the template


class FakeModel:
    """Yields ``reply`` word by word (one word, one token), ``delay_s`` apart."""

    name = MODEL_NAME
    from_cache = True

    def __init__(
        self, reply: str = REPLY, delay_s: float = 0.0, context_window: int = 1000, fail_after: int = -1
    ) -> None:
        self.reply = reply
        self.fail_after = fail_after
        self.delay_s = delay_s
        self.context_window = context_window
        self.calls: list[dict[str, Any]] = []
        self.active = 0
        self.most_active = 0
        self.closed_early = 0
        self._lock = threading.Lock()

    def generate(
        self, messages: Sequence[ChatMessage], max_new_tokens: int, temperature: float
    ) -> Iterator[str]:
        self.calls.append(
            {"messages": list(messages), "max_new_tokens": max_new_tokens, "temperature": temperature}
        )
        with self._lock:
            self.active += 1
            self.most_active = max(self.most_active, self.active)
        words = self.reply.split(" ")[:max_new_tokens]
        sent = 0
        try:
            for index, word in enumerate(words):
                if index == self.fail_after:
                    raise RuntimeError("the model broke")
                time.sleep(self.delay_s)
                sent += 1
                yield word if index == 0 else " " + word
        finally:
            self.closed_early += sent < len(words)
            with self._lock:
                self.active -= 1

    def count_prompt_tokens(self, messages: Sequence[ChatMessage]) -> int:
        return sum(len(m["content"].split()) for m in messages) + 3

    def count_tokens(self, text: str) -> int:
        return len(text.split())


def _engine(
    model: FakeModel | Callable[[], LocalModel], max_new_tokens: int = 64, load_wait_s: float = 5.0
) -> Engine:
    """An engine over the fake (ready at once) or over a loader (to control the loading)."""
    loader = (lambda: model) if isinstance(model, FakeModel) else model
    return Engine(loader, name=MODEL_NAME, max_new_tokens=max_new_tokens, load_wait_s=load_wait_s)


@contextlib.asynccontextmanager
async def serving(engine: Engine) -> AsyncIterator[httpx.AsyncClient]:
    """The app on a real uvicorn at 127.0.0.1:<random>, and a client for it."""
    config = uvicorn.Config(create_app(engine), host="127.0.0.1", port=0, log_config=None, ws="none")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "uvicorn did not start"
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=20) as client:
            yield client
    finally:
        server.should_exit = True
        await task


def sse_events(text: str) -> list[str]:
    return [line.removeprefix("data: ") for line in text.splitlines() if line.startswith("data: ")]


async def chat(client: httpx.AsyncClient, **body: Any) -> httpx.Response:
    return await client.post("/v1/chat/completions", json={"model": MODEL_NAME, "messages": QUESTION} | body)


async def test_a_plain_request_gets_one_chat_completion_with_usage() -> None:
    async with serving(_engine(FakeModel())) as client:
        response = await chat(client)
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "chat.completion"
    assert body["model"] == MODEL_NAME
    assert body["id"].startswith("chatcmpl-")
    assert body["choices"] == [
        {
            "index": 0,
            "message": {"role": "assistant", "content": REPLY},
            "logprobs": None,
            "finish_reason": "stop",
        }
    ]
    assert body["usage"] == {"prompt_tokens": PROMPT_TOKENS, "completion_tokens": 7, "total_tokens": 23}


@pytest.mark.parametrize("include_usage", [True, False])
async def test_a_streamed_request_gets_chunks_then_done(include_usage: bool) -> None:
    options = {"stream_options": {"include_usage": True}} if include_usage else {}
    async with serving(_engine(FakeModel())) as client:
        response = await chat(client, stream=True, **options)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.text)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    with_choices = [c for c in chunks if c["choices"]]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in with_choices)
    assert text == REPLY
    assert [c["choices"][0]["finish_reason"] for c in with_choices][-1] == "stop"
    assert all(c["choices"][0]["finish_reason"] is None for c in with_choices[:-1])
    usage_chunks = [c for c in chunks if not c["choices"]]
    if include_usage:
        assert usage_chunks == [chunks[-1]]
        assert chunks[-1]["usage"] == {
            "prompt_tokens": PROMPT_TOKENS,
            "completion_tokens": 7,
            "total_tokens": 23,
        }
    else:
        assert usage_chunks == []


@pytest.mark.parametrize(
    ("body", "granted", "finish"),
    [
        ({}, 4, "length"),
        ({"max_tokens": 100}, 4, "length"),
        ({"max_tokens": 2}, 2, "length"),
        ({"max_completion_tokens": 3}, 3, "length"),
    ],
)
async def test_max_tokens_is_honoured_and_capped(body: dict[str, Any], granted: int, finish: str) -> None:
    model = FakeModel()
    async with serving(_engine(model, max_new_tokens=4)) as client:
        response = await chat(client, **body)
    assert model.calls[0]["max_new_tokens"] == granted
    assert response.json()["usage"]["completion_tokens"] == granted
    assert response.json()["choices"][0]["finish_reason"] == finish


async def test_the_reply_budget_shrinks_to_the_context_window_and_an_overlong_prompt_is_refused() -> None:
    model = FakeModel(context_window=PROMPT_TOKENS + 3)
    async with serving(_engine(model)) as client:
        fits = await chat(client, max_tokens=50)
        model.context_window = PROMPT_TOKENS
        refused = await chat(client)
    assert model.calls[0]["max_new_tokens"] == 3
    assert fits.status_code == 200
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "context_length_exceeded"


async def test_temperature_passes_through_and_defaults_to_greedy() -> None:
    model = FakeModel()
    async with serving(_engine(model)) as client:
        await chat(client)
        await chat(client, temperature=0.7)
    assert [c["temperature"] for c in model.calls] == [0.0, 0.7]


async def test_tools_are_ignored_and_odd_messages_become_plain_text() -> None:
    model = FakeModel()
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    messages = [
        {"role": "developer", "content": [{"type": "text", "text": "Be brief."}]},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "1", "type": "function"}]},
        {"role": "tool", "tool_call_id": "1", "content": "result"},
    ]
    async with serving(_engine(model)) as client:
        response = await chat(client, messages=messages, tools=[tool], tool_choice="auto")
    assert response.status_code == 200
    assert model.calls[0]["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": ""},
        {"role": "user", "content": "result"},
    ]


async def test_concurrent_requests_never_generate_at_once() -> None:
    model = FakeModel(delay_s=0.02)
    async with serving(_engine(model)) as client:
        replies = await asyncio.gather(*(chat(client, stream=i % 2 == 0) for i in range(4)))
    assert [r.status_code for r in replies] == [200] * 4
    assert len(model.calls) == 4
    assert model.most_active == 1


async def test_a_client_that_leaves_mid_stream_stops_its_generation() -> None:
    model = FakeModel(reply=" ".join(["word"] * 500), delay_s=0.01)
    async with serving(_engine(model)) as client:
        async with client.stream(
            "POST", "/v1/chat/completions", json={"messages": QUESTION, "stream": True}
        ) as r:
            async for line in r.aiter_lines():
                if '"content":"word"' in line:
                    break
        deadline = time.monotonic() + 5
        while model.closed_early == 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        health = (await client.get("/health")).json()
        follow_up = await chat(client, max_tokens=3)
    assert model.closed_early == 1
    assert not health["busy"]
    assert follow_up.status_code == 200
    assert model.most_active == 1


async def test_a_bad_field_is_a_400_in_openai_shape() -> None:
    model = FakeModel()
    async with serving(_engine(model)) as client:
        response = await chat(client, max_tokens=0)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error == {
        "message": "max_tokens must be a positive integer",
        "type": "invalid_request_error",
        "param": "max_tokens",
        "code": None,
    }
    assert model.calls == []


async def test_a_generation_that_fails_is_reported_in_openai_shape() -> None:
    async with serving(_engine(FakeModel(fail_after=2))) as client:
        whole = await chat(client)
        streamed = await chat(client, stream=True)
        after = await client.get("/health")
    assert whole.status_code == 500
    assert whole.json()["error"]["type"] == "server_error"
    events = sse_events(streamed.text)
    assert (
        "".join(json.loads(e)["choices"][0]["delta"].get("content", "") for e in events[:-1]) == "The office"
    )
    assert "the model broke" in json.loads(events[-1])["error"]["message"]
    assert after.json()["busy"] is False


async def test_bad_json_and_unknown_routes_answer_in_openai_shape() -> None:
    async with serving(_engine(FakeModel())) as client:
        bad = await client.post("/v1/chat/completions", content=b"{not json")
        missing = await client.get("/v1/nothing")
    assert bad.status_code == 400
    assert "not valid JSON" in bad.json()["error"]["message"]
    assert missing.status_code == 404
    assert missing.json()["error"]["type"] == "invalid_request_error"


async def test_models_lists_the_one_model() -> None:
    async with serving(_engine(FakeModel())) as client:
        response = await client.get("/v1/models")
    assert [m["id"] for m in response.json()["data"]] == [MODEL_NAME]


async def test_requests_during_loading_wait_for_the_model_then_answer() -> None:
    release = threading.Event()
    model = FakeModel()

    def load() -> LocalModel:
        release.wait(10)
        return model

    async with serving(_engine(load)) as client:
        loading = await client.get("/health")
        pending = asyncio.create_task(chat(client, stream=True))
        await asyncio.sleep(0.3)
        assert not pending.done()
        release.set()
        response = await pending
        ready = await client.get("/health")
    assert loading.status_code == 503
    assert loading.json()["status"] == "loading"
    assert response.status_code == 200
    assert REPLY.split()[-1] in response.text
    assert ready.status_code == 200
    assert ready.json() | {"load_s": None} == {
        "status": "ready",
        "model": MODEL_NAME,
        "load_s": None,
        "from_cache": True,
        "error": None,
        "busy": False,
        "waiting": 0,
    }
    assert ready.json()["load_s"] >= 0.3


async def test_a_request_waits_only_so_long_for_the_model() -> None:
    release = threading.Event()

    def load() -> LocalModel:
        release.wait(10)
        return FakeModel()

    try:
        async with serving(_engine(load, load_wait_s=0.2)) as client:
            response = await chat(client)
    finally:
        release.set()
    assert response.status_code == 503
    assert "still loading" in response.json()["error"]["message"]


async def test_a_model_that_fails_to_load_is_reported() -> None:
    def load() -> LocalModel:
        raise RuntimeError("no weights")

    async with serving(_engine(load)) as client:
        await asyncio.sleep(0.1)
        health = await client.get("/health")
        response = await chat(client)
    assert health.status_code == 503
    assert health.json()["status"] == "failed"
    assert "no weights" in health.json()["error"]
    assert response.status_code == 503
    assert "no weights" in response.json()["error"]["message"]


@pytest.mark.parametrize("stream", [False, True])
async def test_a_reply_ends_before_the_model_writes_the_next_turn_and_the_model_stops(stream: bool) -> None:
    model = FakeModel("Teal is your colour.\nUser: and what is mine? The model goes on and on")
    async with serving(_engine(model)) as client:
        response = await chat(client, stream=stream)
    if stream:
        chunks = [json.loads(e) for e in sse_events(response.text)[:-1]]
        text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    else:
        text = response.json()["choices"][0]["message"]["content"]
    assert text == "Teal is your colour."
    assert model.closed_early == 1  # the words after the stop were never generated


async def test_a_requests_own_stop_sequences_add_to_the_servers() -> None:
    model = FakeModel("Teal. END and more")
    async with serving(_engine(model)) as client:
        response = await chat(client, stop=["END"])
        plain = await chat(client)
    assert response.json()["choices"][0]["message"]["content"] == "Teal. "
    assert plain.json()["choices"][0]["message"]["content"] == "Teal. END and more"
