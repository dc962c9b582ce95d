"""A small typed client for AnimaWorks: memory for other applications (seed 002), and chat.

    from animaworks_client import Client, Event

    with Client("http://127.0.0.1:18500", token="...") as aw:
        anima = aw.get_or_create_anima("user-42").anima
        aw.extract(anima, [Event("message_in", "My cat is called Miso", session_id="s1")])
        pack = aw.pack(anima, query="what is my cat called?", session_id="s1", max_tokens=1500)
        prompt = pack.text()

:class:`AsyncClient` has the same methods, awaited.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Any

import httpx

from animaworks_client import calls
from animaworks_client.calls import MAX_BATCH, ROUTES, ApiError, Call
from animaworks_client.models import (
    Accepted,
    AnimaRef,
    Change,
    ChatReply,
    Entry,
    Event,
    FileText,
    Pack,
    PackItem,
    SearchHit,
    Temporal,
)

__all__ = [
    "MAX_BATCH",
    "ROUTES",
    "Accepted",
    "AnimaRef",
    "ApiError",
    "AsyncClient",
    "Change",
    "ChatReply",
    "Client",
    "Entry",
    "Event",
    "FileText",
    "Pack",
    "PackItem",
    "SearchHit",
    "Temporal",
]


def _headers(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def _decoded(response: httpx.Response) -> Any:
    return response.json() if response.content else None


def _merge(results: list[Accepted]) -> Accepted:
    return Accepted(
        accepted=sum(r.accepted for r in results), event_ids=[i for r in results for i in r.event_ids]
    )


class Client:
    """Synchronous client (one ``httpx.Client``; close it, or use ``with``)."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url, headers=_headers(token), timeout=timeout, transport=transport
        )

    def _run(self, call: Call) -> Any:
        response = self._http.request(call.method, call.path, params=call.params or None, json=call.body)
        return calls.answer(call, response.status_code, _decoded(response))

    def get_or_create_anima(self, external_id: str, name: str | None = None) -> AnimaRef:
        """The anima bound to ``external_id`` (created on first use)."""
        result: AnimaRef = self._run(calls.get_or_create_anima(external_id, name))
        return result

    def extract(self, anima: str, events: Sequence[Event]) -> Accepted:
        """Store events as the anima's memories (in batches of :data:`MAX_BATCH`)."""
        return _merge([self._run(c) for c in calls.extract_batches(anima, events)])

    def pack(
        self,
        anima: str,
        *,
        query: str | None = None,
        session_id: str | None = None,
        max_tokens: int | None = None,
    ) -> Pack:
        """A memory pack for a prompt."""
        result: Pack = self._run(calls.pack(anima, query, session_id, max_tokens))
        return result

    def search(self, anima: str, query: str, *, limit: int = 10, scope: str | None = None) -> list[SearchHit]:
        """Search the anima's memory."""
        result: list[SearchHit] = self._run(calls.search(anima, query, limit, scope))
        return result

    def list_files(self, anima: str, folder: str = "") -> list[Entry]:
        result: list[Entry] = self._run(calls.list_files(anima, folder))
        return result

    def read_file(self, anima: str, path: str) -> FileText:
        result: FileText = self._run(calls.read_file(anima, path))
        return result

    def write_knowledge(self, anima: str, path: str, text: str) -> Change:
        """Write ``knowledge/...md`` as a person's edit (the author is the token's name)."""
        result: Change = self._run(calls.write_knowledge(anima, path, text))
        return result

    def chat(
        self, anima: str, message: str, *, thread_id: str | None = None, sender: str | None = None
    ) -> ChatReply:
        """Talk to an anima that has a model (its reply, or status ``accepted`` if not ready in time)."""
        result: ChatReply = self._run(calls.chat(anima, message, thread_id, sender))
        return result

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncClient:
    """Asynchronous client (one ``httpx.AsyncClient``; ``aclose`` it, or use ``async with``)."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url, headers=_headers(token), timeout=timeout, transport=transport
        )

    async def _run(self, call: Call) -> Any:
        response = await self._http.request(
            call.method, call.path, params=call.params or None, json=call.body
        )
        return calls.answer(call, response.status_code, _decoded(response))

    async def get_or_create_anima(self, external_id: str, name: str | None = None) -> AnimaRef:
        result: AnimaRef = await self._run(calls.get_or_create_anima(external_id, name))
        return result

    async def extract(self, anima: str, events: Sequence[Event]) -> Accepted:
        return _merge([await self._run(c) for c in calls.extract_batches(anima, events)])

    async def pack(
        self,
        anima: str,
        *,
        query: str | None = None,
        session_id: str | None = None,
        max_tokens: int | None = None,
    ) -> Pack:
        result: Pack = await self._run(calls.pack(anima, query, session_id, max_tokens))
        return result

    async def search(
        self, anima: str, query: str, *, limit: int = 10, scope: str | None = None
    ) -> list[SearchHit]:
        result: list[SearchHit] = await self._run(calls.search(anima, query, limit, scope))
        return result

    async def list_files(self, anima: str, folder: str = "") -> list[Entry]:
        result: list[Entry] = await self._run(calls.list_files(anima, folder))
        return result

    async def read_file(self, anima: str, path: str) -> FileText:
        result: FileText = await self._run(calls.read_file(anima, path))
        return result

    async def write_knowledge(self, anima: str, path: str, text: str) -> Change:
        result: Change = await self._run(calls.write_knowledge(anima, path, text))
        return result

    async def chat(
        self, anima: str, message: str, *, thread_id: str | None = None, sender: str | None = None
    ) -> ChatReply:
        result: ChatReply = await self._run(calls.chat(anima, message, thread_id, sender))
        return result

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
