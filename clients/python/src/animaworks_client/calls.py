"""Each API call as data: method, path, query, body, and how to read the answer.

:class:`~animaworks_client.Client` and :class:`~animaworks_client.AsyncClient` both run these, so
the two stay the same call for call. :data:`ROUTES` lists every (method, path template) used; a
test checks them against the gateway's OpenAPI document.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote

from animaworks_client import models as m

MAX_BATCH = 100
"""Events in one request (the server's limit); ``extract`` sends more in batches of this size."""

ROUTES: tuple[tuple[str, str], ...] = (
    ("POST", "/api/memory/animas"),
    ("POST", "/api/memory/{anima}/events"),
    ("GET", "/api/memory/{anima}/pack"),
    ("GET", "/api/animas/{name}/memory/search"),
    ("GET", "/api/animas/{name}/memory"),
    ("GET", "/api/animas/{name}/memory/file"),
    ("PUT", "/api/animas/{name}/memory/file"),
    ("POST", "/api/animas/{name}/chat"),
)


class ApiError(Exception):
    """The API refused a call: its status and the problem's title and detail."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.title = title
        self.detail = detail


@dataclasses.dataclass(frozen=True)
class Call:
    """One request: where it goes, what it carries, how its answer is read."""

    method: str
    path: str
    read: Callable[[int, Any], Any]
    params: dict[str, str] = dataclasses.field(default_factory=dict)
    body: Any = None


def _p(value: str) -> str:
    return quote(value, safe="")


def _of(kind: type[Any]) -> Callable[[int, Any], Any]:
    return lambda _status, data: m.build(kind, data)


def _items(kind: type[Any]) -> Callable[[int, Any], Any]:
    return lambda _status, data: [m.build(kind, item) for item in data["items"]]


def get_or_create_anima(external_id: str, name: str | None = None) -> Call:
    """The anima bound to an external id."""
    body: dict[str, Any] = {"external_id": external_id}
    if name is not None:
        body["name"] = name
    return Call("POST", "/api/memory/animas", _of(m.AnimaRef), body=body)


def extract_batches(anima: str, events: Sequence[m.Event]) -> list[Call]:
    """Events to store, one request per batch."""
    return [
        Call(
            "POST",
            f"/api/memory/{_p(anima)}/events",
            _of(m.Accepted),
            body={"events": [e.to_json() for e in events[start : start + MAX_BATCH]]},
        )
        for start in range(0, len(events), MAX_BATCH)
    ]


def pack(anima: str, query: str | None, session_id: str | None, max_tokens: int | None) -> Call:
    """A memory pack."""
    params = {
        k: str(v)
        for k, v in (("query", query), ("session_id", session_id), ("max_tokens", max_tokens))
        if v is not None
    }
    return Call("GET", f"/api/memory/{_p(anima)}/pack", _of(m.Pack), params=params)


def search(anima: str, query: str, limit: int, scope: str | None) -> Call:
    """A memory search."""
    params = {"q": query, "limit": str(limit), **({"scope": scope} if scope else {})}
    return Call("GET", f"/api/animas/{_p(anima)}/memory/search", _items(m.SearchHit), params=params)


def list_files(anima: str, folder: str) -> Call:
    """A folder's entries."""
    return Call("GET", f"/api/animas/{_p(anima)}/memory", _items(m.Entry), params={"dir": folder})


def read_file(anima: str, path: str) -> Call:
    """A file's text."""
    return Call("GET", f"/api/animas/{_p(anima)}/memory/file", _of(m.FileText), params={"path": path})


def write_knowledge(anima: str, path: str, text: str) -> Call:
    """A person's knowledge edit."""
    return Call(
        "PUT", f"/api/animas/{_p(anima)}/memory/file", _of(m.Change), body={"path": path, "text": text}
    )


def chat(anima: str, message: str, thread_id: str | None, sender: str | None) -> Call:
    """A chat message."""
    body: dict[str, Any] = {"message": message}
    if thread_id is not None:
        body["thread_id"] = thread_id
    if sender is not None:
        body["sender"] = sender
    return Call("POST", f"/api/animas/{_p(anima)}/chat", _of(m.ChatReply), body=body)


def answer(call: Call, status: int, data: Any) -> Any:
    """The call's result, or :class:`ApiError` for a problem."""
    if status >= 400:
        problem = data if isinstance(data, dict) else {}
        raise ApiError(status, str(problem.get("title", "error")), str(problem.get("detail", data)))
    return call.read(status, data)
