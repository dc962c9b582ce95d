"""One embedding call for whatever every partition's indexing needs at the moment.

Each activity partition indexes its own batches, so many small requests (one chat's entry each)
come in at once; the model is much faster per text in one batch than in many calls, and the CPU
runs one call at a time anyway. Requests that arrive while a call runs go together in the next.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from animas_priming.ports import Embedder


class EmbeddingBatcher:
    """``embed_passages`` for concurrent callers, one model call at a time over all that waits."""

    def __init__(self, embedder: Embedder) -> None:
        self._embedder = embedder
        self._waiting: list[tuple[list[str], asyncio.Future[list[list[float]]]]] = []
        self._worker: asyncio.Task[None] | None = None

    async def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        """The vectors of ``texts``, embedded along with every other caller's that is waiting."""
        if not texts:
            return []
        done: asyncio.Future[list[list[float]]] = asyncio.get_running_loop().create_future()
        self._waiting.append((list(texts), done))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain())
        return await done

    async def _drain(self) -> None:
        while self._waiting:
            taken, self._waiting = self._waiting, []
            texts = [text for request, _ in taken for text in request]
            try:
                vectors = await asyncio.to_thread(self._embedder.embed_passages, texts)
            except Exception as exc:  # every caller of this call fails alike (its batch is retried)
                for _, done in taken:
                    if not done.done():
                        done.set_exception(exc)
                continue
            start = 0
            for request, done in taken:
                if not done.done():  # a caller that was cancelled meanwhile has no one to tell
                    done.set_result(vectors[start : start + len(request)])
                start += len(request)
