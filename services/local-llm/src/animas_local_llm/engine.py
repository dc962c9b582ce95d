"""The model's life in the server: loaded in the background, then one generation at a time.

Requests that arrive while the model loads wait for it (up to ``load_wait_s``) rather than fail;
requests that arrive during a generation queue on a fair lock. The model's blocking calls run in
worker threads so the event loop keeps answering ``/health`` meanwhile.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
import time
from collections.abc import AsyncGenerator, Callable, Iterator
from typing import Any

import anyio.to_thread
from anyio import CancelScope

from animas_local_llm.decoding import DEFAULT_STOP, cut_at_stop
from animas_local_llm.ports import ChatMessage, LocalModel
from animas_local_llm.wire import ApiError

_log = logging.getLogger(__name__)
_DONE = object()


@dataclasses.dataclass(frozen=True)
class Job:
    """A request ready to generate: the loaded model, the prompt and its token budget."""

    model: LocalModel
    messages: list[ChatMessage]
    max_new_tokens: int
    temperature: float
    prompt_tokens: int
    stop: tuple[str, ...] = ()
    """The reply ends before the first of these texts."""


class Engine:
    """Owns the model: loads it once in a background thread and serialises its generations."""

    def __init__(
        self,
        loader: Callable[[], LocalModel],
        *,
        name: str,
        max_new_tokens: int,
        load_wait_s: float,
        stop: tuple[str, ...] = DEFAULT_STOP,
    ):
        self.name = name
        self._stop = stop
        self._loader = loader
        self._max_new_tokens = max_new_tokens
        self._load_wait_s = load_wait_s
        self._model: LocalModel | None = None
        self._error: str | None = None
        self._load_s: float | None = None
        self._settled = asyncio.Event()
        self._lock = asyncio.Lock()
        self._waiting = 0
        self._busy = False

    def start(self) -> None:
        """Begin loading. The thread is a daemon so that stopping the service never waits on it."""
        loop = asyncio.get_running_loop()
        started = time.monotonic()

        def load() -> None:
            try:
                model, error = self._loader(), None
            except Exception as exc:  # reported by /health and to every request
                _log.exception("the model failed to load")
                model, error = None, f"{type(exc).__name__}: {exc}"
            try:
                loop.call_soon_threadsafe(self._loaded, model, error, time.monotonic() - started)
            except RuntimeError:  # the server stopped while the model loaded: nobody left to tell
                _log.info("the server stopped before the model finished loading")

        threading.Thread(target=load, name="local-llm-load", daemon=True).start()

    def _loaded(self, model: LocalModel | None, error: str | None, seconds: float) -> None:
        self._model, self._error, self._load_s = model, error, round(seconds, 3)
        self._settled.set()
        if model is not None:
            _log.info("model ready", extra={"model": self.name, "load_s": self._load_s})

    def health(self) -> dict[str, Any]:
        """``status`` is ``loading``, ``ready`` or ``failed``; the rest says how it got there."""
        status = "failed" if self._error else "ready" if self._model else "loading"
        return {
            "status": status,
            "model": self.name,
            "load_s": self._load_s,
            "from_cache": self._model.from_cache if self._model else None,
            "error": self._error,
            "busy": self._busy,
            "waiting": self._waiting,
        }

    async def prepare(
        self,
        messages: list[ChatMessage],
        max_tokens: int | None,
        temperature: float,
        stop: tuple[str, ...] = (),
    ) -> Job:
        """Wait for the model, count the prompt and fix the reply's token budget and stop sequences.

        ``stop`` (the request's own) comes on top of the server's.
        """
        try:
            await asyncio.wait_for(self._settled.wait(), self._load_wait_s)
        except TimeoutError:
            raise ApiError(
                503, "the local model is still loading; retry shortly", type="server_error"
            ) from None
        if self._model is None:
            raise ApiError(503, f"the local model failed to load: {self._error}", type="server_error")
        model = self._model
        prompt_tokens = await anyio.to_thread.run_sync(model.count_prompt_tokens, messages)
        room = model.context_window - prompt_tokens
        if room < 1:
            raise ApiError(
                400,
                f"the prompt has {prompt_tokens} tokens; the model's window is {model.context_window}",
                param="messages",
                code="context_length_exceeded",
            )
        budget = min(max_tokens or self._max_new_tokens, self._max_new_tokens, room)
        stops = tuple(dict.fromkeys([*self._stop, *stop]))
        return Job(model, messages, budget, temperature, prompt_tokens, stops)

    async def pieces(self, job: Job) -> AsyncGenerator[str]:
        """Generate, after every generation queued before this one; yield the reply's text pieces.

        Use with ``contextlib.aclosing``: closing early stops the model before the next request starts.
        """
        self._waiting += 1
        try:
            await self._lock.acquire()
        finally:
            self._waiting -= 1
        self._busy = True
        try:
            iterator: Iterator[str] = await anyio.to_thread.run_sync(
                lambda: cut_at_stop(
                    job.model.generate(job.messages, job.max_new_tokens, job.temperature), job.stop
                )
            )
            try:
                while (piece := await anyio.to_thread.run_sync(next, iterator, _DONE)) is not _DONE:
                    yield str(piece)
            finally:
                close = getattr(iterator, "close", None)
                if close is not None:
                    with CancelScope(shield=True):  # finish stopping the model even when cancelled
                        await anyio.to_thread.run_sync(close)
        finally:
            self._busy = False
            self._lock.release()

    async def count_tokens(self, job: Job, text: str) -> int:
        """Tokens of the generated text, by the model's tokenizer."""
        return await anyio.to_thread.run_sync(job.model.count_tokens, text)
