"""Sending to an outside platform with a few tries: what notifications and answers posted outside share.

A :class:`~animas_outbound.notify.adapters.RetryableSendError` is tried again after a doubling
backoff, up to ``attempts`` tries; a :class:`~animas_outbound.notify.adapters.PermanentSendError`
stops at once. The caller decides what a final failure means (a failed event, a dead letter).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Generic, TypeVar

from animas_outbound.notify.adapters import PermanentSendError, RetryableSendError

_log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Attempted(Generic[T]):
    """How a send went: the tries made, the last error (None: sent) and what the send returned."""

    attempts: int
    error: str | None
    result: T | None = None


@dataclasses.dataclass(frozen=True)
class SendAttempts:
    """How many tries a send gets and how long it waits between them."""

    attempts: int = 3
    backoff_s: float = 1.0
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    async def send(
        self, send: Callable[[], Awaitable[T]], what: str, context: Mapping[str, object]
    ) -> Attempted[T]:
        """Run ``send`` until it succeeds, fails for good, or the tries run out."""
        tries = max(1, self.attempts)
        for attempt in range(1, tries + 1):
            try:
                result = await send()
            except PermanentSendError as exc:
                return Attempted(attempt, str(exc))
            except RetryableSendError as exc:
                if attempt == tries:
                    return Attempted(attempt, str(exc))
                delay = self.backoff_s * 2 ** (attempt - 1)
                _log.warning(
                    f"{what} failed; retrying",
                    extra={**context, "attempt": attempt, "retry_in_s": delay, "error": str(exc)},
                )
                await self.sleep(delay)
            else:
                return Attempted(attempt, None, result)
        raise AssertionError("unreachable: the last attempt returns")
