"""The Python client: its calls are the gateway's routes (from the OpenAPI document), and it reads
the answers into its types, sync and async alike."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, cast

import httpx
import pytest
from animaworks_client import ROUTES, ApiError, AsyncClient, Client, Event, Pack
from animaworks_client.calls import MAX_BATCH

from animas_gateway.api import memory_browser, memory_pack, memory_service
from animas_gateway.operations import openapi_document

CHAT = ("POST", "/api/animas/{name}/chat")
"""H1's route (its operation lives in the app); its path is the one the API has always had."""


def _document() -> dict[str, Any]:
    none = cast(Any, None)
    ops = [
        *memory_browser.operations(none, none, none, none, none),
        *memory_service.operations(none, none, none, none, none, lambda: datetime.now(UTC)),
    ]
    return openapi_document(ops, title="AnimaWorks", version="test")


def test_every_call_is_a_route_of_the_document() -> None:
    paths = _document()["paths"]
    for method, path in ROUTES:
        if (method, path) == CHAT:
            continue
        assert path in paths, path
        assert method.lower() in paths[path], (method, path)


def test_an_event_sends_only_fields_the_api_accepts() -> None:
    schema = _document()["components"]["schemas"]["ExtractedEvent"]
    full = Event("fact", "c", session_id="s", author="a", time=datetime(2025, 1, 1, tzinfo=UTC), id="e1")
    assert set(full.to_json()) <= set(schema["properties"])
    assert MAX_BATCH == memory_pack.MAX_EVENTS


PACK = {
    "identity": "# Identity: ext-u",
    "session": [
        {"path": "episodes/2025-01-01.md", "heading": "09:00 message_in", "text": "hi", "date": "2025-01-01"}
    ],
    "knowledge": [],
    "long_term": [
        {"path": "episodes/2024-06-01.md", "heading": "h", "text": "t", "date": None, "score": 0.5}
    ],
    "temporal": {
        "now": "2025-01-02T09:00:00+09:00",
        "time_zone": "Asia/Tokyo",
        "date": "2025-01-02",
        "weekday": "Thursday",
    },
    "tokens": 42,
}


def _handler(seen: list[httpx.Request]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/api/memory/animas":
            return httpx.Response(201, json={"anima": "ext-u-1", "external_id": "u", "created": True})
        if request.url.path.endswith("/events"):
            n = len(json.loads(request.content)["events"])
            return httpx.Response(202, json={"accepted": n, "event_ids": [f"e{i}" for i in range(n)]})
        if request.url.path.endswith("/pack"):
            return httpx.Response(200, json=PACK)
        return httpx.Response(
            404,
            json={"type": "about:blank", "title": "Not Found", "status": 404, "detail": "no anima"},
            headers={"content-type": "application/problem+json"},
        )

    return httpx.MockTransport(handle)


def test_the_sync_client_batches_events_and_reads_a_pack() -> None:
    seen: list[httpx.Request] = []
    with Client("http://aw", token="t0k", transport=_handler(seen)) as aw:
        assert aw.get_or_create_anima("u").anima == "ext-u-1"
        accepted = aw.extract("ext-u-1", [Event("fact", str(i)) for i in range(MAX_BATCH + 5)])
        pack = aw.pack("ext-u-1", query="cat?", session_id="s 1", max_tokens=500)
        with pytest.raises(ApiError) as refused:
            aw.search("nobody", "x")
    assert accepted.accepted == MAX_BATCH + 5 and len(accepted.event_ids) == MAX_BATCH + 5
    assert [len(json.loads(r.content)["events"]) for r in seen if r.url.path.endswith("/events")] == [100, 5]
    assert isinstance(pack, Pack) and pack.session[0].date == "2025-01-01" and pack.tokens == 42
    assert "Asia/Tokyo" in pack.text() and "hi" in pack.text()
    assert dict(seen[-2].url.params) == {"query": "cat?", "session_id": "s 1", "max_tokens": "500"}
    assert refused.value.status == 404 and refused.value.detail == "no anima"
    assert all(r.headers["authorization"] == "Bearer t0k" for r in seen)


async def test_the_async_client_does_the_same() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        return _handler(seen).handle_request(request)

    async with AsyncClient("http://aw", transport=httpx.MockTransport(handle)) as aw:
        assert (await aw.get_or_create_anima("u", name="U")).created
        assert (await aw.extract("ext-u-1", [Event("fact", "x")])).accepted == 1
        assert (await aw.pack("ext-u-1")).long_term[0].score == 0.5
    assert json.loads(seen[0].content) == {"external_id": "u", "name": "U"}
    assert "authorization" not in seen[0].headers
