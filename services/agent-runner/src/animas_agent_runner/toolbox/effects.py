"""A tool's effect is stored and confirmed, or the cycle fails: never "done" for a lost effect.

A tool call acts through other services: memory-writer answers the recipient check of
``send_message`` and applies memory operations, JetStream stores ``outbound.requested``. While
one of them restarts, the call raises :class:`~animas_core.errors.RetryableError`. Such a call is
run again here, with backoff, under the same ordinal, so every retry publishes the same derived
ids and JetStream's duplicate window drops a repeat of anything that was stored after all. If the
effect is still not confirmed when the backoff is spent, :class:`EffectNotConfirmed` leaves the
cycle: the error policy redelivers the message, and the redelivered cycle, calling the tool at the
same ordinal, derives the same ids again, so the effect happens once.

A refusal is another matter: :class:`~animas_agent_runner.toolbox.errors.ToolDenied` and
:class:`~animas_agent_runner.toolbox.errors.ToolFailed` (an unknown recipient, a protected file,
memory-writer rejecting the change) are answers, shown to the model at once and never retried.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from animas_agent_runner.settings import EFFECT_RETRY_BACKOFF_S
from animas_core.errors import RetryableError

_log = logging.getLogger(__name__)

T = TypeVar("T")


class EffectNotConfirmed(RetryableError):
    """A tool's effect could not be stored or confirmed within the retries; the cycle must fail.

    A :class:`RetryableError`, so the error policy redelivers the message with its own backoff.
    """


@dataclasses.dataclass(frozen=True)
class EffectRetry:
    """How patiently one tool call retries an effect that was not confirmed, inside the cycle."""

    backoff_s: tuple[float, ...] = EFFECT_RETRY_BACKOFF_S
    """One wait per retry; empty: no retry, the first failure fails the cycle."""
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    """Injected so tests need no wall clock."""

    def __post_init__(self) -> None:
        if any(delay < 0 for delay in self.backoff_s):
            raise ValueError(f"effect retry delays must not be negative: {self.backoff_s}")


async def settle(tool: str, attempt: Callable[[], Awaitable[T]], retry: EffectRetry) -> T:
    """Run ``attempt`` until it returns; retry a :class:`RetryableError` after each backoff.

    ``attempt`` must derive every id it publishes from the cycle and the call's ordinal, so that
    running it again repeats the same effect instead of adding one. Anything but a
    RetryableError (a refusal, a bug) passes through at once.

    Raises:
        EffectNotConfirmed: The last attempt still failed; its error is the cause.
    """
    for number, delay in enumerate((*retry.backoff_s, None), start=1):
        try:
            return await attempt()
        except RetryableError as exc:
            if delay is None:
                raise EffectNotConfirmed(
                    f"{tool} could not be confirmed after {number} attempt(s): {exc}"
                ) from exc
            _log.warning(
                "tool effect not confirmed; retrying with the same ids",
                extra={"tool": tool, "attempt": number, "retry_in_s": delay, "error": str(exc)},
            )
            await retry.sleep(delay)
    raise AssertionError("unreachable: the last attempt returns or raises")
