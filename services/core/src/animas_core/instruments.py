"""Every metric the services emit, in one table: name, kind, unit, attributes and who emits it.

The services record through :class:`animas_core.metrics.Metrics`, which creates its instruments
from this table and checks each recording's attributes against it. The Grafana dashboards
(``infra/observability/grafana/dashboards``) query the same metrics under their Prometheus names
(:meth:`Instrument.prometheus_series`), and tests/unit/test_dashboards.py checks both directions:
every metric a dashboard queries is in this table, every metric here is on some dashboard.
"""

from __future__ import annotations

import dataclasses
import enum
import re


class Kind(enum.StrEnum):
    """The OpenTelemetry instrument behind a metric."""

    COUNTER = "counter"
    HISTOGRAM = "histogram"
    GAUGE = "gauge"
    """Observable: sampled by the service, read at each export."""


# How the OpenTelemetry collector's Prometheus exporter spells units it knows as words; a unit in
# braces is an annotation ("{token}") and adds nothing to the name.
_UNIT_WORDS = {"s": "seconds", "ms": "milliseconds", "By": "bytes", "1": ""}
_NOT_IN_NAMES = re.compile(r"[^a-zA-Z0-9_:]")


@dataclasses.dataclass(frozen=True)
class Instrument:
    """One metric as the services create it."""

    name: str
    """The OpenTelemetry name (dots between words)."""
    kind: Kind
    unit: str
    description: str
    attributes: tuple[str, ...]
    """Exactly the attributes every recording carries (the Prometheus labels, besides job/instance)."""
    services: tuple[str, ...]
    """Who emits it."""
    buckets: tuple[float, ...] = ()
    """A histogram's bucket boundaries (in its unit)."""

    def prometheus_name(self) -> str:
        """The name in Prometheus: dots to underscores, the unit as a word, ``_total`` for counters."""
        name = _NOT_IN_NAMES.sub("_", self.name)
        unit = re.sub(r"\{[^}]*\}", "", self.unit)
        word = _UNIT_WORDS.get(unit, _NOT_IN_NAMES.sub("_", unit))
        if word and word not in name.split("_"):
            name = f"{name}_{word}"
        return f"{name}_total" if self.kind is Kind.COUNTER else name

    def prometheus_series(self) -> tuple[str, ...]:
        """Every series name a query may use: a histogram's ``_bucket``, ``_sum`` and ``_count``."""
        base = self.prometheus_name()
        if self.kind is Kind.HISTOGRAM:
            return (f"{base}_bucket", f"{base}_sum", f"{base}_count")
        return (base,)


AGENT_RUNNER = ("agent-runner",)
EVERY_CONSUMER = ("agent-runner", "priming", "memory-writer", "consolidator", "outbound")
"""Services that run durable consumers through :class:`animas_core.runtime.ServiceRuntime`."""

CYCLES = Instrument(
    "animaworks.cycles",
    Kind.COUNTER,
    "{cycle}",
    "Agent cycles finished, by how they ended (ok, failed, configuration_needed).",
    ("anima", "outcome"),
    AGENT_RUNNER,
)
LLM_CALLS = Instrument(
    "animaworks.llm.calls",
    Kind.COUNTER,
    "{call}",
    "Model calls of agent cycles, by anima, model and outcome (ok or error).",
    ("anima", "model", "outcome"),
    AGENT_RUNNER,
)
LLM_TOKENS = Instrument(
    "animaworks.llm.tokens",
    Kind.COUNTER,
    "{token}",
    "Tokens the model provider reported, by anima, model and direction (input or output).",
    ("anima", "model", "direction"),
    AGENT_RUNNER,
)
LLM_COST = Instrument(
    "animaworks.llm.cost.usd",
    Kind.COUNTER,
    "{USD}",
    "What the model calls cost in US dollars, from litellm's bundled price table "
    "(calls of models the table does not know are not counted here).",
    ("anima", "model"),
    AGENT_RUNNER,
)
PRIMING_DURATION = Instrument(
    "animaworks.priming.duration",
    Kind.HISTOGRAM,
    "s",
    "Time to answer one prime request, by message type.",
    ("message_type",),
    ("priming",),
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
PRIMING_CHANNEL_FAILURES = Instrument(
    "animaworks.priming.channel_failures",
    Kind.COUNTER,
    "{failure}",
    "Priming channels that failed or timed out (the prime goes on without them), by channel.",
    ("channel",),
    ("priming",),
)
CONSUMER_LAG = Instrument(
    "animaworks.consumer.lag",
    Kind.GAUGE,
    "{message}",
    "Messages a durable consumer has not finished: not yet delivered plus delivered and unacknowledged.",
    ("stream", "durable"),
    EVERY_CONSUMER,
)
DEAD_LETTERS = Instrument(
    "animaworks.dead_letters",
    Kind.COUNTER,
    "{message}",
    "Messages a durable consumer gave up on and stored in DEADLETTER.",
    ("durable",),
    EVERY_CONSUMER,
)
REDELIVERIES = Instrument(
    "animaworks.redeliveries",
    Kind.COUNTER,
    "{message}",
    "Messages received again (delivery count above 1): after a failure, a nak or an ack wait.",
    ("durable",),
    EVERY_CONSUMER,
)
SCHEDULER_FIRES = Instrument(
    "animaworks.scheduler.fires",
    Kind.COUNTER,
    "{fire}",
    "Schedule occurrences fired (heartbeat, cron, consolidation), once across replicas.",
    ("anima", "kind"),
    ("scheduler",),
)
SCHEDULER_DRIFT = Instrument(
    "animaworks.scheduler.drift",
    Kind.HISTOGRAM,
    "s",
    "How late an occurrence fired: the scheduler's clock at firing minus the occurrence's time.",
    ("kind",),
    ("scheduler",),
    buckets=(0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0),
)

INSTRUMENTS: tuple[Instrument, ...] = (
    CYCLES,
    LLM_CALLS,
    LLM_TOKENS,
    LLM_COST,
    PRIMING_DURATION,
    PRIMING_CHANNEL_FAILURES,
    CONSUMER_LAG,
    DEAD_LETTERS,
    REDELIVERIES,
    SCHEDULER_FIRES,
    SCHEDULER_DRIFT,
)
