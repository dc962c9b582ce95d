"""One chat, one heartbeat and one bad payload produce every metric at an OTLP collector (issue #18, item 3).

`anima up` runs each service as its own process, exporting metrics over OTLP/HTTP every half
second to the small collector in this test. The chat's first model call fails with a 503 (the
cycle is retried: a redelivery, a failed call, then a priced successful one), priming's channels
are given no time at all (each one fails, as a slow index would), the scheduler's test clock
passes 10:30 five seconds late (a fire and its drift, exactly), and a payload that is not an event
is dead-lettered. The table in animas_core.instruments is the list checked: every metric in it
arrives, from a service it names.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from nats.aio.client import Client
from tests.conftest import RunningSystem, scripted_config, start_system

from animas_contracts.subjects import activity_subject
from animas_core import instruments
from animas_core.instruments import INSTRUMENTS
from animas_tools.otlp_collector import OtlpCollector
from animas_tools.otlp_metrics import CollectedPoint, latest
from animas_tools.scripted_llm import ScriptedLLM, Turn
from animas_tools.supervisor import read_health

pytestmark = [pytest.mark.e2e, pytest.mark.nats, pytest.mark.slow]

MODEL = "openai/gpt-4o-mini"
"""A model litellm's bundled table prices; its base URL is the scripted server's."""
INPUT_TOKENS, OUTPUT_TOKENS = 321, 17
ANIMA = "sample"


@pytest.fixture(scope="module")
def collector() -> Iterator[OtlpCollector]:
    with OtlpCollector() as running:
        yield running


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM() as server:
        yield server


def _set_clock(path: Path, moment: str) -> None:
    path.write_text(json.dumps({"now": moment}))


def _wait_for_scheduler_clock(system: RunningSystem, moment: str) -> None:
    async def clock_seen(nc: Client) -> bool:
        health = await read_health(nc.jetstream())
        return str(health.get("scheduler", {}).get("clock", "")) >= moment

    deadline = time.monotonic() + 60
    while not system.admin(clock_seen):
        assert time.monotonic() < deadline, "the scheduler never ticked at the test clock's time"
        time.sleep(0.2)


def _series(points: list[CollectedPoint]) -> dict[str, list[CollectedPoint]]:
    """The current point of every series, by metric name."""
    by_name: dict[str, list[CollectedPoint]] = {}
    for point in latest(points).values():
        by_name.setdefault(point.name, []).append(point)
    return by_name


def _one(series: dict[str, list[CollectedPoint]], spec: instruments.Instrument, **attributes: Any) -> float:
    """The sum over ``spec``'s series whose attributes include ``attributes``."""
    return sum(p.value for p in series.get(spec.name, []) if attributes.items() <= p.attributes.items())


def _missing(points: list[CollectedPoint]) -> list[str]:
    """What has not arrived yet (empty when everything the test checks is there)."""
    series = _series(points)
    missing = [
        spec.name
        for spec in INSTRUMENTS
        if not any(p.service.removeprefix("animaworks-") in spec.services for p in series.get(spec.name, []))
    ]
    if _one(series, instruments.LLM_CALLS, anima=ANIMA, outcome="ok") < 1:
        missing.append("the chat's answered call")
    if _one(series, instruments.DEAD_LETTERS) < 1:
        missing.append("the bad payload's dead letter")
    return missing


def test_one_chat_produces_every_metric_at_the_collector(
    tmp_path: Path, collector: OtlpCollector, llm: ScriptedLLM
) -> None:
    clock = tmp_path / "clock.json"
    _set_clock(clock, "2026-11-26T10:29:50+00:00")
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": collector.endpoint,
        "OTEL_TRACES_EXPORTER": "none",  # metrics only: this test looks at nothing else
        "OTEL_METRIC_EXPORT_INTERVAL": "500",
        "ANIMAWORKS_CHANNEL_TIMEOUT_S": "0",
        "ANIMAWORKS_SCHEDULER_PAUSED": "false",
        "ANIMAWORKS_SCHEDULER_CLOCK_FILE": str(clock),
    }
    running = start_system(tmp_path / "home", env)
    try:
        config = scripted_config(llm)
        config["anima_defaults"]["model"] = MODEL
        config["scheduler"] = {"reload_s": 0}  # every tick re-reads the animas: sample is seen
        running.configure(config)

        llm.load(
            [
                Turn(status=503, error="overloaded"),
                Turn(text="Counted.", prompt_tokens=INPUT_TOKENS, completion_tokens=OUTPUT_TOKENS),
            ]
        )
        response = running.chat(ANIMA, "what does this cost?", timeout_s=90)
        assert response.status_code == 200, response.text
        assert response.json()["reply"] == "Counted."

        # The heartbeat at 10:30 fires when the scheduler's clock reads 10:30:05.
        _wait_for_scheduler_clock(running, "2026-11-26T10:29:50+00:00")
        _set_clock(clock, "2026-11-26T10:29:55+00:00")
        _wait_for_scheduler_clock(running, "2026-11-26T10:29:55+00:00")
        _set_clock(clock, "2026-11-26T10:30:05+00:00")

        async def bad_payload(nc: Client) -> None:
            await nc.jetstream().publish(activity_subject(ANIMA, "message.received"), b"not an event")

        running.admin(bad_payload)

        arrived = collector.wait_for_points(lambda points: not _missing(points), 60)
        assert arrived, _missing(collector.points)
    finally:
        running.stop()

    series = _series(collector.points)
    assert _one(series, instruments.CYCLES, anima=ANIMA, outcome="ok") == 1
    assert _one(series, instruments.LLM_CALLS, anima=ANIMA, model=MODEL, outcome="ok") == 1
    assert _one(series, instruments.LLM_CALLS, anima=ANIMA, model=MODEL, outcome="error") >= 1
    tokens = {
        direction: _one(series, instruments.LLM_TOKENS, anima=ANIMA, model=MODEL, direction=direction)
        for direction in ("input", "output")
    }
    assert tokens == {"input": INPUT_TOKENS, "output": OUTPUT_TOKENS}
    price = _bundled_price("gpt-4o-mini")
    cost = _one(series, instruments.LLM_COST, anima=ANIMA, model=MODEL)
    assert cost == pytest.approx(INPUT_TOKENS * price[0] + OUTPUT_TOKENS * price[1])
    assert cost > 0

    (primes,) = [p for p in series[instruments.PRIMING_DURATION.name] if p.service == "animaworks-priming"]
    assert primes.count >= 1 and primes.bounds == instruments.PRIMING_DURATION.buckets
    assert {p.attributes["channel"] for p in series[instruments.PRIMING_CHANNEL_FAILURES.name]} >= {"B", "E"}

    runner_lag = [p for p in series[instruments.CONSUMER_LAG.name] if p.service == "animaworks-agent-runner"]
    assert {p.attributes["durable"] for p in runner_lag} >= {"agent-runner-p0", "agent-runner-tasks-p0"}
    reporting = {p.service.removeprefix("animaworks-") for p in series[instruments.CONSUMER_LAG.name]}
    assert reporting == set(instruments.CONSUMER_LAG.services)

    partition_durables = {p.attributes["durable"] for p in series[instruments.REDELIVERIES.name]}
    assert any(d.startswith("agent-runner-p") for d in partition_durables)  # the retried cycle
    dead = {p.attributes["durable"] for p in series[instruments.DEAD_LETTERS.name]}
    assert any(d.startswith("agent-runner-p") for d in dead)

    assert _one(series, instruments.SCHEDULER_FIRES, anima=ANIMA, kind="heartbeat") == 1
    (drift,) = series[instruments.SCHEDULER_DRIFT.name]
    assert (drift.attributes, drift.count, drift.value) == ({"kind": "heartbeat"}, 1, 5.0)


def _bundled_price(model: str) -> tuple[float, float]:
    """Input and output price per token in litellm's bundled table (read offline)."""
    import os

    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    entry = litellm.model_cost[model]
    return float(entry["input_cost_per_token"]), float(entry["output_cost_per_token"])
