"""The one error policy every consumer runs under.

Success acks. A :class:`PoisonMessage` or :class:`ContractError` sends the original bytes and
the reason to ``DEADLETTER`` and terminates the message. Anything else is redelivered with
backoff until ``max_deliveries``, then dead-lettered. The consumer always moves on.

A failure because the broker (or a service behind it) is away (no connection, no responders, a
stream without a leader; not a timeout) is given more patience,
``outage_deliveries``: with the backoff's 30 s cap about a quarter of an hour. Counted like any
other failure, an outage longer than the first four backoffs (~18 s: a cluster electing leaders
under load, nats-server restarting with a large store) dead-lettered messages that nothing was
wrong with.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol

from animas_contracts import ContractError, DeadLetter
from animas_core.broker_errors import broker_away
from animas_core.errors import PoisonMessage, RetryableError

_log = logging.getLogger(__name__)


class Delivery(Protocol):
    """What the policy needs of one delivered JetStream message."""

    @property
    def data(self) -> bytes: ...
    @property
    def subject(self) -> str: ...
    @property
    def headers(self) -> dict[str, str]: ...
    @property
    def deliveries(self) -> int: ...
    @property
    def stream(self) -> str | None: ...
    @property
    def stream_seq(self) -> int | None: ...
    async def ack(self) -> None: ...
    async def nak(self, delay_s: float) -> None: ...
    async def term(self) -> None: ...
    async def in_progress(self) -> None: ...


class DeadLetterSink(Protocol):
    """Stores a dead letter durably; raises if it could not."""

    async def send(self, letter: DeadLetter) -> None: ...


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a failing message is retried."""

    max_deliveries: int = 5
    backoff_s: tuple[float, ...] = (1.0, 2.0, 5.0, 10.0, 30.0)
    outage_deliveries: int = 40
    """Deliveries a message may fail because the broker or a service behind it is away."""

    def gives_up(self, deliveries: int, error: BaseException) -> bool:
        """Whether a message that failed with ``error`` on its ``deliveries``-th try is dead-lettered."""
        limit = (
            max(self.outage_deliveries, self.max_deliveries) if broker_away(error) else self.max_deliveries
        )
        return deliveries >= limit

    def delay(self, deliveries: int) -> float:
        """Backoff before the next delivery, after ``deliveries`` attempts so far."""
        index = min(max(deliveries, 1), len(self.backoff_s)) - 1
        return self.backoff_s[index]


def dead_letter_of(delivery: Delivery, service: str, reason: str) -> DeadLetter:
    """The dead-letter record for a delivery."""
    return DeadLetter(
        service=service,
        reason=reason,
        subject=delivery.subject,
        headers=dict(delivery.headers),
        data=delivery.data,
        stream=delivery.stream,
        stream_seq=delivery.stream_seq,
        deliveries=delivery.deliveries,
    )


async def _dead_letter(
    delivery: Delivery, sink: DeadLetterSink, service: str, reason: str, retry: RetryPolicy
) -> None:
    try:
        await sink.send(dead_letter_of(delivery, service, reason))
    except Exception:
        # Never drop a message we could not park: let it come back and try again.
        _log.exception("could not store a dead letter; the message will be redelivered")
        await delivery.nak(retry.delay(delivery.deliveries))
        return
    _log.warning(
        "message dead-lettered",
        extra={"subject": delivery.subject, "stream_seq": delivery.stream_seq, "reason": reason},
    )
    await delivery.term()


async def run_under_policy(
    delivery: Delivery,
    work: Callable[[bytes], Awaitable[None]],
    *,
    service: str,
    sink: DeadLetterSink,
    retry: RetryPolicy,
) -> None:
    """Run ``work`` on the message's bytes and settle the message by the error policy."""
    try:
        await work(delivery.data)
    except (ContractError, PoisonMessage) as exc:
        await _dead_letter(delivery, sink, service, f"{type(exc).__name__}: {exc}", retry)
    except Exception as exc:
        if not isinstance(exc, RetryableError):
            _log.exception("unexpected error in handler", extra={"subject": delivery.subject})
        if retry.gives_up(delivery.deliveries, exc):
            reason = f"gave up after {delivery.deliveries} deliveries: {type(exc).__name__}: {exc}"
            await _dead_letter(delivery, sink, service, reason, retry)
        else:
            delay = retry.delay(delivery.deliveries)
            _log.warning(
                "handler failed; message will be redelivered",
                extra={"subject": delivery.subject, "retry_in_s": delay, "error": repr(exc)},
            )
            await delivery.nak(delay)
    else:
        await delivery.ack()


@contextlib.asynccontextmanager
async def in_progress_acks(delivery: Delivery, interval_s: float) -> AsyncIterator[None]:
    """Tell JetStream every ``interval_s`` that a long handler is still working on the message."""

    async def beat() -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                await delivery.in_progress()
            except Exception as exc:  # the next beat may succeed; the ack decides in the end
                _log.warning("in-progress ack failed: %r", exc)

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
