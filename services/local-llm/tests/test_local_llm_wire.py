"""Request validation and the response shapes of the OpenAI wire format (pure, no server)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from animas_local_llm.wire import ApiError, Completion, parse_request, sse, usage

QUESTION = [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "m"}, "messages"),
        ({"messages": []}, "messages"),
        ({"messages": [{"content": "no role"}]}, "messages[0].role"),
        ({"messages": [{"role": "narrator", "content": "x"}]}, "messages[0].role"),
        ({"messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
        ({"messages": QUESTION, "max_tokens": 0}, "max_tokens"),
        ({"messages": QUESTION, "max_tokens": "ten"}, "max_tokens"),
        ({"messages": QUESTION, "max_tokens": True}, "max_tokens"),
        ({"messages": QUESTION, "max_completion_tokens": -1}, "max_completion_tokens"),
        ({"messages": QUESTION, "temperature": "hot"}, "temperature"),
        ({"messages": QUESTION, "temperature": 3}, "temperature"),
        ({"messages": QUESTION, "stream": "yes"}, "stream"),
        ({"messages": QUESTION, "stream_options": "usage"}, "stream_options"),
        ({"messages": QUESTION, "stop": 5}, "stop"),
        ({"messages": QUESTION, "stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ([1, 2], None),
    ],
)
def test_a_bad_request_names_the_bad_field(body: Any, param: str | None) -> None:
    with pytest.raises(ApiError) as caught:
        parse_request(body)
    assert caught.value.status == 400
    assert caught.value.body()["error"]["param"] == param
    assert caught.value.body()["error"]["type"] == "invalid_request_error"


def test_defaults_are_greedy_unstreamed_and_uncapped() -> None:
    request = parse_request({"messages": QUESTION, "tools": [{"type": "function"}], "top_p": 0.5})
    assert (request.max_tokens, request.temperature, request.stream, request.include_usage) == (
        None,
        0.0,
        False,
        False,
    )


def test_max_completion_tokens_wins_over_max_tokens() -> None:
    assert parse_request({"messages": QUESTION, "max_tokens": 9, "max_completion_tokens": 4}).max_tokens == 4


def test_frames_share_one_identity_and_sse_ends_with_a_blank_line() -> None:
    completion = Completion(model="m")
    first, last = completion.chunk({"content": "a"}), completion.usage_chunk(usage(3, 1))
    assert (first["id"], first["created"]) == (last["id"], last["created"])
    assert last["usage"] == {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}
    assert sse(first).startswith(b"data: {") and sse(first).endswith(b"}\n\n")
    assert json.loads(sse(first)[6:]) == first
    assert sse("[DONE]") == b"data: [DONE]\n\n"


def test_stop_is_one_string_or_a_list() -> None:
    assert parse_request({"messages": QUESTION, "stop": "END"}).stop == ("END",)
    assert parse_request({"messages": QUESTION, "stop": ["A", "", "B"]}).stop == ("A", "B")
    assert parse_request({"messages": QUESTION}).stop == ()
