"""One chat is one trace across processes (DESIGN.md §5 invariant 8, issue #6 point 6).

`anima up` runs every service as its own OS process, each exporting over OTLP/HTTP to a small
collector in this test; the trace context has to cross NATS in both of its forms: FastStream's
publish/consume and the raw request/reply RPCs (priming, memory reads). The scripted LLM reports
fixed token counts, so the LLM span's usage attributes can be checked exactly.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from tests.conftest import RunningSystem, scripted_config, settled, start_system

from animas_tools.otlp_collector import CollectedSpan, OtlpCollector
from animas_tools.scripted_llm import ScriptedLLM, Turn

pytestmark = [pytest.mark.e2e, pytest.mark.nats, pytest.mark.slow]

TRACED_SERVICES = {f"animaworks-{s}" for s in ("gateway", "agent-runner", "priming", "memory-writer")}
CHAT_SPAN = "POST /api/animas/{name}/chat"
MODEL = "openai/scripted"
INPUT_TOKENS, OUTPUT_TOKENS = 321, 17


@pytest.fixture(scope="module")
def collector() -> Iterator[OtlpCollector]:
    with OtlpCollector() as running:
        yield running


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM() as server:
        yield server


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory, collector: OtlpCollector, llm: ScriptedLLM
) -> Iterator[RunningSystem]:
    # A short batch delay so spans arrive while the test waits, not only when services stop.
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": collector.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "100"}
    running = start_system(tmp_path_factory.mktemp("traces") / "home", env)
    try:
        running.configure(scripted_config(llm))
        yield running
    finally:
        running.stop()


def _chat_span(spans: list[CollectedSpan], sent_ns: int) -> CollectedSpan | None:
    """The gateway's span of the chat request sent at ``sent_ns``."""
    return next(
        (
            s
            for s in spans
            if s.service == "animaworks-gateway" and s.name == CHAT_SPAN and s.start_ns >= sent_ns
        ),
        None,
    )


def _chat_trace(spans: list[CollectedSpan], sent_ns: int) -> list[CollectedSpan]:
    root = _chat_span(spans, sent_ns)
    return [s for s in spans if root is not None and s.trace_id == root.trace_id]


def _complete(trace: list[CollectedSpan]) -> bool:
    """Every part the test looks at has arrived, and no span's parent is still missing."""
    ids = {s.span_id for s in trace}
    names = {(s.service, s.kind, s.name) for s in trace}
    return (
        {s.service for s in trace} >= TRACED_SERVICES
        and ("animaworks-priming", "SERVER", "rpc.priming.prime") in names
        and ("animaworks-memory-writer", "SERVER", "rpc.memory.read") in names
        and ("animaworks-agent-runner", "CLIENT", f"chat {MODEL}") in names
        and any(s.service == "animaworks-memory-writer" and "response.sent" in s.name for s in trace)
        and all(s.parent_span_id is None or s.parent_span_id in ids for s in trace)
    )


def _ancestors(span: CollectedSpan, by_id: dict[str, CollectedSpan]) -> list[CollectedSpan]:
    chain = []
    while span.parent_span_id is not None and span.parent_span_id in by_id:
        span = by_id[span.parent_span_id]
        chain.append(span)
    return chain


def test_one_chat_is_one_trace_across_the_service_processes(
    system: RunningSystem, collector: OtlpCollector, llm: ScriptedLLM
) -> None:
    llm.load(
        [Turn(text="Traced across processes.", prompt_tokens=INPUT_TOKENS, completion_tokens=OUTPUT_TOKENS)]
    )
    sent_ns = time.time_ns()
    response = system.chat("sample", "follow me through every service", timeout_s=90)
    replied_ns = time.time_ns()
    assert response.status_code == 200, response.text
    assert response.json()["reply"] == "Traced across processes."

    arrived = collector.wait_for(lambda spans: _complete(_chat_trace(spans, sent_ns)), 60)
    trace = _chat_trace(collector.spans, sent_ns)
    assert arrived, sorted({(s.service, s.kind, s.name) for s in trace})

    by_id = {s.span_id: s for s in trace}
    http = _chat_span(trace, sent_ns)
    assert http is not None
    assert (http.kind, http.parent_span_id) == ("SERVER", None)
    assert {s.service for s in trace} >= TRACED_SERVICES
    assert all(s is http or http in _ancestors(s, by_id) for s in trace)

    (llm_span,) = [s for s in trace if s.name == f"chat {MODEL}"]
    assert llm_span.service == "animaworks-agent-runner"
    attributes = llm_span.attributes
    assert (attributes["gen_ai.operation.name"], attributes["gen_ai.request.model"]) == ("chat", MODEL)
    assert (attributes["gen_ai.usage.input_tokens"], attributes["gen_ai.usage.output_tokens"]) == (
        INPUT_TOKENS,
        OUTPUT_TOKENS,
    )
    assert attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert llm_span.status != "ERROR"

    # The RPC answers are children of the caller's request span, across the process boundary.
    for service, name in (
        ("animaworks-priming", "rpc.priming.prime"),
        ("animaworks-memory-writer", "rpc.memory.read"),
    ):
        served = [s for s in trace if (s.service, s.kind, s.name) == (service, "SERVER", name)]
        assert served, name
        for span in served:
            assert span.parent_span_id is not None
            caller = by_id[span.parent_span_id]
            assert (caller.kind, caller.name) == ("CLIENT", name)
            assert caller.service != service
            assert span.attributes["messaging.destination.name"].startswith(name + ".")
    prime_caller = by_id[str(next(s for s in trace if s.name == "rpc.priming.prime").parent_span_id)]
    assert prime_caller.service == "animaworks-agent-runner"

    # Nothing the chat caused began a trace of its own: a hop that lost the context would show up
    # here as a parentless span of one of the services while the chat was being answered.
    strays = [
        (s.service, s.kind, s.name)
        for s in collector.spans
        if s.service in TRACED_SERVICES
        and s.parent_span_id is None
        and sent_ns <= s.start_ns <= replied_ns
        and s.span_id != http.span_id
    ]
    assert strays == []


def test_spans_still_in_the_batch_are_sent_when_the_services_stop(
    tmp_path_factory: pytest.TempPathFactory, llm: ScriptedLLM
) -> None:
    # A batch delay far beyond the test's length, and a batch far bigger than the spans it makes:
    # only the services' shutdown can send them.
    with OtlpCollector() as collector:
        env = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": collector.endpoint,
            "OTEL_BSP_SCHEDULE_DELAY": "600000",
            "OTEL_BSP_MAX_QUEUE_SIZE": "8192",
            "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "8192",
        }
        running = start_system(tmp_path_factory.mktemp("flush") / "home", env)
        try:
            running.configure(scripted_config(llm))
            llm.load([Turn(text="Sent at shutdown.")])
            sent_ns = time.time_ns()
            response = running.chat("sample", "flush me", timeout_s=90)
            assert response.json()["reply"] == "Sent at shutdown."
            # The projection runs after the reply; stopping before it would lose work, not spans.
            deadline = time.monotonic() + 60
            while not settled(running):
                assert time.monotonic() < deadline, "memory-writer did not catch up"
                time.sleep(0.2)
            assert _chat_span(collector.spans, sent_ns) is None  # nothing was exported early
        finally:
            running.stop()
        assert _complete(_chat_trace(collector.spans, sent_ns))
