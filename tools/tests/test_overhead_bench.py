"""The framework-overhead benchmark: its pure parts, and one tiny run of the real system end to end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest
from tools.bench.overhead.__main__ import summary
from tools.bench.overhead.measure import ChatPhase, ChatSample, check_reply
from tools.bench.overhead.report import HEADING, ratio, render, write_section
from tools.bench.overhead.run import OverheadRun, Params, run_overhead
from tools.bench.overhead.stages import LLM_END, LLM_START, REPLY, SENT, breakdown, dominant
from tools.bench.overhead.system import SCRIPTED_REPLY, anima_names

from animas_contracts import (
    Body,
    CycleFinished,
    CycleStarted,
    CycleStatus,
    Event,
    LlmCalled,
    MessageReceived,
    ResponseSent,
    Trigger,
)
from animas_tools.bench_report import percentile

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
"""When the synthetic chat is sent."""


def _at(ms: float) -> datetime:
    return T0 + timedelta(milliseconds=ms)


def _chat_events(correlation: str = "c1", anima: str = "bench-01") -> list[Event]:
    """One chat's events: received at 2 ms, cycle at 20, model 30–40, reply at 45, finished at 60."""
    body = Body(size=2, digest="sha256:00", inline={})
    c, p = correlation, "test"
    return [
        MessageReceived(
            anima=anima, correlation_id=c, producer=p, ts=_at(2), text="hi", sender="human", thread_id=c
        ),
        CycleStarted(
            anima=anima,
            correlation_id=c,
            producer=p,
            ts=_at(20),
            trigger=Trigger.MESSAGE,
            trigger_event_id=c,
            model="m",
        ),
        LlmCalled(
            anima=anima,
            correlation_id=c,
            producer=p,
            ts=_at(40),
            cycle_id="x",
            ordinal=0,
            model="m",
            request=body,
            response=body,
            latency_ms=10,
        ),
        ResponseSent(
            anima=anima,
            correlation_id=c,
            producer=p,
            ts=_at(45),
            text=SCRIPTED_REPLY,
            in_reply_to=c,
            to="human",
            thread_id=c,
        ),
        CycleFinished(
            anima=anima, correlation_id=c, producer=p, ts=_at(60), cycle_id="x", status=CycleStatus.OK
        ),
    ]


def _sample(correlation: str = "c1", problem: str | None = None, seconds: float = 0.05) -> ChatSample:
    return ChatSample("bench-01", T0.timestamp(), seconds, problem, correlation)


def test_percentile_interpolates_and_is_zero_when_empty() -> None:
    assert percentile([], 50) == 0.0
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([0.0, 10.0], 95) == pytest.approx(9.5)
    assert percentile([1.0, 2.0, 3.0, 4.0], 0) == 1.0 and percentile([1.0, 2.0, 3.0, 4.0], 100) == 4.0


def test_a_reply_counts_only_when_it_is_exactly_the_scripted_text() -> None:
    good = {"outcome": "reply", "reply": SCRIPTED_REPLY, "correlation_id": "c"}
    assert check_reply(200, good, SCRIPTED_REPLY) is None
    assert check_reply(200, {**good, "reply": "Something else"}, SCRIPTED_REPLY) is not None
    assert check_reply(200, {**good, "outcome": "error"}, SCRIPTED_REPLY) == "outcome 'error'"
    assert (
        check_reply(202, {"status": "accepted", "detail": "not ready"}, SCRIPTED_REPLY)
        == "HTTP 202: not ready"
    )
    assert check_reply(200, None, SCRIPTED_REPLY) == "the body is not a JSON object"


def test_a_phase_counts_failures_and_never_drops_them() -> None:
    phase = ChatPhase(
        2, 2.0, (_sample("a"), _sample("b", "HTTP 503"), _sample("c", "HTTP 503"), _sample("d", seconds=0.1))
    )
    assert phase.failures == 2
    assert phase.ok_seconds == [0.05, 0.1]
    assert phase.per_second == 1.0  # correct replies over the phase's wall time
    assert phase.problems() == {"HTTP 503": 2}


def test_the_stages_follow_the_events_and_add_up_to_the_latency() -> None:
    events = {"c1": _chat_events()}
    b = breakdown([_sample(), _sample("gone"), _sample("c1", "HTTP 500")], events)
    assert list(b.stages) == [
        f"{SENT} → message.received",
        "message.received → cycle.started",
        f"cycle.started → {LLM_START}",
        f"{LLM_START} → {LLM_END}",
        f"{LLM_END} → response.sent",
        f"response.sent → {REPLY}",
    ]
    assert [round(v[0], 3) for v in b.stages.values()] == [2.0, 18.0, 10.0, 10.0, 5.0, 5.0]
    assert sum(v[0] for v in b.stages.values()) == pytest.approx(b.totals[0], abs=1e-3)
    assert b.totals == [pytest.approx(50.0)]
    assert b.after_reply == [pytest.approx(15.0, abs=1e-3)]
    assert b.missing == 1  # the chat whose events are not there; the failed one is not broken down
    assert b.events_per_chat == 5.0
    name, share = dominant(b)
    assert name == "message.received → cycle.started" and share == pytest.approx(36.0, abs=1e-3)


def test_the_stages_follow_a_changed_event_order() -> None:
    """A service that builds cycle.started after the model call still gets a true split."""
    events = _chat_events()
    moved = [e for e in events if not isinstance(e, CycleStarted)]
    started = next(e for e in events if isinstance(e, CycleStarted))
    moved.append(msgspec.structs.replace(started, ts=_at(42)))
    b = breakdown([_sample()], {"c1": moved})
    assert f"{LLM_END} → cycle.started" in b.stages and "cycle.started → response.sent" in b.stages
    assert sum(v[0] for v in b.stages.values()) == pytest.approx(50.0, abs=1e-3)


def _run() -> OverheadRun:
    events = {"c1": _chat_events()}
    one = ChatPhase(1, 0.05, (_sample(),))
    load = ChatPhase(20, 1.0, (_sample(), _sample("x", "HTTP 202: not ready")))
    return OverheadRun(
        params=Params(),
        started=T0,
        load_start="0.50 / 0.40 / 0.30",
        warmup=ChatPhase(20, 1.0, ()),
        sequential=one,
        sustained=load,
        nats_remote=[0.0002, 0.0003],
        nats_local=[0.0001],
        http_health=[0.001],
        prime_rpc=[0.02],
        read_rpc=[0.0005],
        stages=breakdown(one.samples, events),
        stages_load=breakdown(load.samples, events),
        create_s=1.0,
        load_busy=97.0,
        settle_s=2.0,
        load_end="0.60 / 0.40 / 0.30",
        llm_served=2,
        seconds=60.0,
        up_s=10.0,
    )


def test_the_report_shows_the_ratio_the_failures_and_the_machine() -> None:
    run = _run()
    assert ratio(run) == pytest.approx(0.05 / 0.00025)
    text = render(run, ["python tools/bench/overhead_bench.py"])
    assert text.startswith(HEADING + "\n")
    assert "Overhead ratio (chat p50 / raw NATS request-reply p50): 200×" in text
    assert "under load: 1× HTTP 202: not ready" in text
    assert "97% busy" in text and "the rate is what the CPUs give" in text
    assert "2026-11-25" in text and "CPUs (`nproc`)" in text and "message.received → cycle.started" in text
    assert "overhead ratio (chat p50 / raw NATS request-reply p50): 200×" in summary(run)


def test_the_section_is_replaced_in_place_and_the_rest_kept(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\n## Recall\n\nrecall text\n\n## Underdog\n\nunderdog text\n")
    write_section(doc, f"{HEADING}\n\nfirst run\n")
    assert doc.read_text().endswith(f"underdog text\n\n{HEADING}\n\nfirst run\n")
    write_section(doc, f"{HEADING}\n\nsecond run\n")
    text = doc.read_text()
    assert text.count(HEADING) == 1 and "second run" in text and "first run" not in text
    assert "recall text" in text and "underdog text" in text
    # In the middle of the file, the sections after it stay after it.
    doc.write_text(f"# Benchmarks\n\n{HEADING}\n\nold\n\n## Later\n\nlater text\n")
    write_section(doc, f"{HEADING}\n\nnew\n")
    assert doc.read_text() == f"# Benchmarks\n\n{HEADING}\n\nnew\n\n## Later\n\nlater text\n"
    # No file yet: one is started.
    fresh = tmp_path / "new.md"
    write_section(fresh, f"{HEADING}\n\nnew\n")
    assert fresh.read_text() == f"# Benchmarks\n\n{HEADING}\n\nnew\n"


def test_anima_names_are_valid_and_ordered() -> None:
    assert anima_names(3) == ("bench-01", "bench-02", "bench-03")


@pytest.mark.slow
@pytest.mark.nats
@pytest.mark.e2e
def test_a_tiny_run_of_the_real_system_measures_everything_and_fails_nothing(tmp_path: Path) -> None:
    params = Params(
        animas=3,
        requests=5,
        clients=3,
        duration_s=2.0,
        nats_requests=50,
        http_requests=10,
        rpc_requests=3,
        warmup_rounds=1,
    )
    run = run_overhead(params, workdir=tmp_path / "bench", say=lambda _: None)
    assert len(run.sequential.samples) == 5 and run.sustained.samples
    assert run.warmup.failures == run.sequential.failures == run.sustained.failures == 0
    assert len(run.nats_remote) == len(run.nats_local) == 50 and len(run.http_health) == 10
    assert len(run.prime_rpc) == len(run.read_rpc) == 3
    assert ratio(run) > 0
    chats = len(run.warmup.samples) + len(run.sequential.samples) + len(run.sustained.samples)
    assert run.llm_served == chats  # one model call per chat, every one answered by the script
    assert len(run.stages.totals) == 5 and run.stages.missing == 0
    doc = tmp_path / "benchmarks.md"
    write_section(doc, render(run, ["python tools/bench/overhead_bench.py --animas 3"]))
    assert "Overhead ratio (chat p50 / raw NATS request-reply p50): " in doc.read_text()
    assert "overhead ratio (chat p50 / raw NATS request-reply p50): " in summary(run)
