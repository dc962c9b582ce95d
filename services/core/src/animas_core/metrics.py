"""Recording the services' metrics: one method per fact, instruments from :mod:`animas_core.instruments`.

Each service records where the fact is known (agent-runner's published events, priming's prime
endpoint, the scheduler's firing, the runtime's consumers), never by reading the stream back. The
methods take the attributes the table declares, so a recording cannot drift from what the
dashboards query. Without a meter provider (a test, a service started without OTLP) every
recording goes to OpenTelemetry's no-op meter.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping

from opentelemetry.metrics import CallbackOptions, Counter, Histogram, MeterProvider, Observation
from opentelemetry.metrics import get_meter_provider as global_meter_provider

from animas_core import instruments
from animas_core.instruments import Instrument, Kind

METER_NAME = "animaworks"


class Metrics:
    """The instruments of one service process."""

    def __init__(self, provider: MeterProvider | None = None) -> None:
        meter = (provider or global_meter_provider()).get_meter(METER_NAME)
        self.exporting = provider is not None
        """Whether recordings go anywhere: work done only for a metric (a price lookup, a lag
        sample) is skipped when they do not."""
        self._counters: dict[str, Counter] = {}
        self._histograms: dict[str, Histogram] = {}
        for spec in instruments.INSTRUMENTS:
            if spec.kind is Kind.COUNTER:
                self._counters[spec.name] = meter.create_counter(
                    spec.name, unit=spec.unit, description=spec.description
                )
            elif spec.kind is Kind.HISTOGRAM:
                self._histograms[spec.name] = meter.create_histogram(
                    spec.name,
                    unit=spec.unit,
                    description=spec.description,
                    explicit_bucket_boundaries_advisory=list(spec.buckets),
                )
        self._lock = threading.Lock()
        self._lag: dict[tuple[str, str], int] = {}
        """Last sampled lag per (stream, durable); the gauge reads it on the exporter's thread."""
        meter.create_observable_gauge(
            instruments.CONSUMER_LAG.name,
            callbacks=[self._observe_lag],
            unit=instruments.CONSUMER_LAG.unit,
            description=instruments.CONSUMER_LAG.description,
        )

    def cycle_finished(self, anima: str, outcome: str) -> None:
        """An agent cycle ended (``cycle.finished``'s status)."""
        self._add(instruments.CYCLES, 1, anima=anima, outcome=outcome)

    def model_called(
        self,
        anima: str,
        model: str,
        *,
        ok: bool,
        input_tokens: int,
        output_tokens: int,
        cost_usd: float | None,
    ) -> None:
        """One model call of a cycle (``llm.called``); ``cost_usd`` None: the price is unknown."""
        self._add(instruments.LLM_CALLS, 1, anima=anima, model=model, outcome="ok" if ok else "error")
        for direction, tokens in (("input", input_tokens), ("output", output_tokens)):
            if tokens:
                self._add(instruments.LLM_TOKENS, tokens, anima=anima, model=model, direction=direction)
        if cost_usd is not None:
            self._add(instruments.LLM_COST, cost_usd, anima=anima, model=model)

    def primed(self, seconds: float, message_type: str, failed_channels: Iterable[str]) -> None:
        """One prime request answered, and the channels it had to leave out."""
        self._record(instruments.PRIMING_DURATION, seconds, message_type=message_type)
        for channel in failed_channels:
            self._add(instruments.PRIMING_CHANNEL_FAILURES, 1, channel=channel)

    def fired(self, anima: str, kind: str, drift_s: float) -> None:
        """The scheduler fired an occurrence ``drift_s`` after its time."""
        self._add(instruments.SCHEDULER_FIRES, 1, anima=anima, kind=kind)
        self._record(instruments.SCHEDULER_DRIFT, max(drift_s, 0.0), kind=kind)

    def dead_lettered(self, durable: str) -> None:
        """A consumer stored a message in DEADLETTER."""
        self._add(instruments.DEAD_LETTERS, 1, durable=durable)

    def redelivered(self, durable: str) -> None:
        """A consumer received a message it had been given before."""
        self._add(instruments.REDELIVERIES, 1, durable=durable)

    def lag_sampled(self, stream: str, durable: str, lag: int) -> None:
        """The latest pending plus unacknowledged count of a durable (the gauge reports it)."""
        with self._lock:
            self._lag[(stream, durable)] = lag

    def _observe_lag(self, options: CallbackOptions) -> Iterable[Observation]:
        with self._lock:
            samples = dict(self._lag)
        return [
            Observation(lag, _attributes(instruments.CONSUMER_LAG, {"stream": stream, "durable": durable}))
            for (stream, durable), lag in samples.items()
        ]

    def _add(self, spec: Instrument, amount: float, **attributes: str) -> None:
        self._counters[spec.name].add(amount, _attributes(spec, attributes))

    def _record(self, spec: Instrument, value: float, **attributes: str) -> None:
        self._histograms[spec.name].record(value, _attributes(spec, attributes))


def _attributes(spec: Instrument, attributes: Mapping[str, str]) -> dict[str, str]:
    """The attributes, checked against the table: a dashboard's labels must mean what they say."""
    if tuple(sorted(attributes)) != tuple(sorted(spec.attributes)):
        raise ValueError(f"{spec.name} takes {spec.attributes}, got {tuple(attributes)}")
    return dict(attributes)
