"""How much animas may talk (config.json ``messaging``): loop limits and storm guards (seed 003 §7).

outbound is the one place these are enforced: it settles every message between animas in order,
so a limit holds however many agent-runner replicas run cycles.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_WINDOW_S = 24 * 3600.0
"""The longest window a guard may use: outbound keeps its windows (the ``GUARDS`` bucket) for
two days after their last message, so a window never outlives what it counts."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RateWindow(_Section):
    """At most ``messages`` sent by one anima within ``window_s`` seconds."""

    messages: int = Field(ge=1)
    window_s: float = Field(gt=0, le=MAX_WINDOW_S)


def _default_rates() -> dict[str, RateWindow]:
    return {"default": RateWindow(messages=30, window_s=600.0)}


class CascadeLimit(_Section):
    """At most ``messages`` between animas in one conversation within ``window_s`` seconds.

    A conversation is everything one trigger set off (a person's message, a heartbeat, a cron
    task): every message an anima sends in a cycle carries the conversation of the message that
    woke it, so a fan-out that fans out again stays in the same conversation however many
    animas it reaches.
    """

    messages: int = Field(default=60, ge=1)
    window_s: float = Field(default=600.0, gt=0, le=MAX_WINDOW_S)


class MessagingConfig(_Section):
    """Loop limits and storm guards for messages between animas."""

    max_hops: int = Field(default=12, ge=1)
    """Anima-to-anima deliveries in one causal chain of a thread; the next one is refused."""
    max_pair_depth: int = Field(default=8, ge=1)
    """Consecutive back-and-forth deliveries between the same two animas in one chain."""
    rates: dict[str, RateWindow] = Field(default_factory=_default_rates)
    """Messages one anima may send within a window, by its role (status.json ``role``);
    ``default`` is for every role not named. Acknowledgements are not counted."""
    max_exchanges: int = Field(default=6, ge=1)
    """Messages between one pair of animas, both ways, within ``exchange_window_s``; the next is
    refused until the oldest leaves the window."""
    exchange_window_s: float = Field(default=600.0, gt=0, le=MAX_WINDOW_S)
    cascade: CascadeLimit = Field(default_factory=CascadeLimit)
    """Messages between animas in one conversation across the organisation."""

    @field_validator("rates")
    @classmethod
    def _with_default(cls, rates: dict[str, RateWindow]) -> dict[str, RateWindow]:
        # Naming one role's window keeps the built-in default for every other role.
        return rates if "default" in rates else {**_default_rates(), **rates}

    def rate_for(self, role: str | None) -> RateWindow:
        """The rate window of an anima with ``role`` (``default`` when it has none or it is not named)."""
        return self.rates.get(role or "default", self.rates["default"])
