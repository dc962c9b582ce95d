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


class StoredEvents(Protocol):
    """Asks the activity stream whether an event was already stored (the redelivery guard)."""

    async def __call__(self, event: Event, after_seq: int) -> bool:
        """Whether ``event`` (by its id, type and anima) was stored after stream sequence ``after_seq``."""
        ...
