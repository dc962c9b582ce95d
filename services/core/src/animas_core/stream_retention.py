"""Retention of DELTAS, DEADLETTER and the BODIES object store: stream settings the operator applies.

All are JetStream ``max_age`` settings, so only the operator (``anima up``, ``python -m
animas_core.provision``) may change them; no service's NATS user may update a stream
(tools/src/animas_tools/authority.py). ACTIVITY is not among them: it is the source of truth
that every rebuild, replay and consolidation reads, and it is kept for good (docs/retention.md
says why, and what projection snapshots do and do not change). They come from config.json
``housekeeping``:

- ``deltas_max_age_hours`` (24): streamed model output is a write-ahead journal; a cycle older
  than that has finished or been recovered, so its deltas are no longer read.
- ``bodies_max_age_days`` (0 = kept for good): a stored body is referenced by the recorded
  ``cycle.started`` that ``anima replay cycle`` reads; once it expires, replaying that cycle
  stops with "the body <digest> is no longer in the object store". Keep it 0 unless disk
  matters more than replaying old cycles.
- ``deadletter_max_age_days`` (0 = kept for good): a dead letter waits for an operator; once
  it expires, the message it holds (and the reason) is gone.

Applied on every provisioning: an existing stream is updated when its max age differs.
"""

from __future__ import annotations

import dataclasses
import logging

from nats.js import JetStreamContext

from animas_contracts.subjects import BODIES_BUCKET, DEADLETTER_STREAM, DELTAS_STREAM
from animas_core.config import HousekeepingConfig

_log = logging.getLogger(__name__)
HOUR_S = 3600.0
DAY_S = 24 * HOUR_S
BODIES_STREAM = f"OBJ_{BODIES_BUCKET}"
"""The stream behind the BODIES object store (JetStream names object stores' streams so)."""


@dataclasses.dataclass(frozen=True)
class Retention:
    """Max ages in seconds; 0 keeps messages for good."""

    deltas_max_age_s: float = 24 * HOUR_S
    bodies_max_age_s: float = 0.0
    deadletter_max_age_s: float = 0.0

    @classmethod
    def of(cls, config: HousekeepingConfig) -> Retention:
        """The retention config.json's ``housekeeping`` section asks for."""
        return cls(
            deltas_max_age_s=config.deltas_max_age_hours * HOUR_S,
            bodies_max_age_s=config.bodies_max_age_days * DAY_S,
            deadletter_max_age_s=config.deadletter_max_age_days * DAY_S,
        )


async def apply_retention(js: JetStreamContext, retention: Retention) -> list[str]:
    """Set the max ages of DELTAS, BODIES and DEADLETTER where they differ; what was changed, in words."""
    changed = []
    for stream, max_age in (
        (DELTAS_STREAM, retention.deltas_max_age_s),
        (BODIES_STREAM, retention.bodies_max_age_s),
        (DEADLETTER_STREAM, retention.deadletter_max_age_s),
    ):
        config = (await js.stream_info(stream)).config
        if abs((config.max_age or 0.0) - max_age) < 1e-3:
            continue
        await js.update_stream(dataclasses.replace(config, max_age=max_age))
        said = f"{stream} keeps messages {'for good' if max_age == 0 else f'{max_age:g} s'}"
        _log.info("retention changed", extra={"stream": stream, "max_age_s": max_age})
        changed.append(said)
    return changed
