"""What the handler needs from the world: who exists, and what the stream already holds."""

from __future__ import annotations

from typing import Protocol

from animas_contracts import AnimaSummary, Event


class AnimaDirectory(Protocol):
    """Which animas exist and whether they are enabled (memory-writer's ``rpc.memory.animas``).

    :class:`animas_core.memory_client.MemoryClient` is the real one: no answer is a
    :class:`animas_core.errors.RetryableError`, so the request waits for memory-writer and is
    never failed because of it.
    """

    async def animas(self) -> list[AnimaSummary]:
        """Every anima that exists."""
        ...


class DeliveryLog(Protocol):
    """Which requests outbound has settled, for as long as the bucket keeps them.

    JetStream's duplicate window (minutes) and the stream check on redelivery cover a repeat
    delivery of one stored request; this log covers the same request stored again later, e.g. by a
    cycle re-run after a long outage, which arrives as a first delivery.
    """

    async def settled(self, request_id: str) -> bool:
        """Whether the request was delivered or failed before."""
        ...

    async def record(self, request_id: str, outcome: str) -> None:
        """Remember that the request is settled (``delivered`` or ``failed``)."""
        ...


class StoredEvents(Protocol):
    """Asks the activity stream whether an event was already stored (the redelivery guard)."""

    async def __call__(self, event: Event, after_seq: int) -> bool:
        """Whether ``event`` (by its id, type and anima) was stored after stream sequence ``after_seq``."""
        ...
