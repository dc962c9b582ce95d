"""How much animas may talk (config.json ``messaging``): loop limits and storm guards (seed 003 §7).

outbound is the one place these are enforced: it settles every message between animas in order,
so a limit holds however many agent-runner replicas run cycles.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RateWindow(_Section):
    """At most ``messages`` sent by one anima within ``window_s`` seconds."""

    messages: int = Field(ge=1)
    window_s: float = Field(gt=0)


class MessagingConfig(_Section):
    """Loop limits and storm guards for messages between animas."""

    max_hops: int = Field(default=12, ge=1)
    """Anima-to-anima deliveries in one causal chain of a thread; the next one is refused."""
    max_pair_depth: int = Field(default=8, ge=1)
    """Consecutive back-and-forth deliveries between the same two animas in one chain."""
