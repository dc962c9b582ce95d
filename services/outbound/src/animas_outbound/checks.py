"""The guards a request passes before delivery, and the records a delivery adds.

The handler runs every :class:`Check` in order after the basic refusals; the first
:class:`~animas_outbound.domain.Refusal` fails the request (``outbound.failed`` plus
``messaging.refused``). After a delivery it publishes what every :class:`Followup` returns
(mention fan-out, ``task.delegated``…): events with ids derived from the request, so a
redelivered request adds nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from animas_contracts import Event, OutboundRequested
from animas_core.config import CachedConfig
from animas_outbound import domain


class Check(Protocol):
    """One guard over a request about to be delivered."""

    async def __call__(self, request: OutboundRequested) -> domain.Refusal | None:
        """Why the request must not be delivered, or None."""
        ...


class Followup(Protocol):
    """What else a delivered request causes."""

    async def __call__(self, request: OutboundRequested) -> Sequence[Event]:
        """Events to publish after the delivery (ids derived from the request)."""
        ...


class LoopLimits:
    """The hop and pair limits of ``messaging`` in config.json (read on every request)."""

    def __init__(self, config: CachedConfig) -> None:
        self._config = config

    async def __call__(self, request: OutboundRequested) -> domain.Refusal | None:
        return domain.loop_refusal(request, self._config.get().messaging)
