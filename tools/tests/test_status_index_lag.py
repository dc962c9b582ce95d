"""`anima status` sums priming's partition durables into one index-lag line, zero when caught up."""

from __future__ import annotations

from datetime import UTC, datetime

from nats.js.api import ConsumerConfig, ConsumerInfo

from animas_tools.index_lag import IndexLag, lag_of
from animas_tools.status_cli import consumer_lines


def consumer(name: str, pending: int, unacked: int) -> ConsumerInfo:
    return ConsumerInfo(
        name=name,
        stream_name="ACTIVITY",
        config=ConsumerConfig(durable_name=name),
        created=datetime(2026, 12, 7, tzinfo=UTC),
        num_pending=pending,
        num_ack_pending=unacked,
        num_redelivered=0,
    )


def test_the_lag_is_the_sum_over_the_partition_durables_and_nothing_else() -> None:
    consumers = [
        consumer("priming-index-p0", 5, 2),
        consumer("priming-index-p7", 0, 0),
        consumer("priming-index-p31", 3, 0),
        consumer("agent-runner-p0", 40, 1),
    ]
    lag = lag_of(consumers)
    assert lag == IndexLag(pending=8, unacked=2, durables=3)
    assert not lag.caught_up
    assert lag.line() == "index lag: 10 (behind; pending=8 unacked=2 over 3 partition durables)"


def test_caught_up_says_zero_and_unknown_without_durables() -> None:
    lag = lag_of([consumer("priming-index-p0", 0, 0), consumer("priming-index-p1", 0, 0)])
    assert lag.caught_up and lag.line().startswith("index lag: 0 (caught up;")
    assert not lag_of([consumer("agent-runner-p0", 0, 0)]).caught_up
    assert lag_of([]).line() == "index lag: unknown (priming has not created its durables yet)"


def test_only_partition_durables_that_are_behind_get_their_own_line() -> None:
    lines = consumer_lines(
        [consumer("priming-index-p0", 0, 0), consumer("priming-index-p3", 4, 1), consumer("gateway-x", 0, 0)]
    )
    assert [line.split()[0] for line in lines] == ["priming-index-p3", "gateway-x"]
