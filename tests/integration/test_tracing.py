"""Trace propagation: the gateway's HTTP span is the ancestor of agent-runner's and memory-writer's spans.

One process, a real nats-server, the real services' composition roots, a tracer provider per
service (so spans say who made them) feeding one in-memory exporter.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import nats
import pytest
import uvicorn
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tests.conftest import provision

from animas_agent_runner.app import setup as setup_runner
from animas_agent_runner.settings import AgentRunnerSettings
from animas_contracts import MemoryOpApplied
from animas_core.anima_files import AnimaSpec, template_files
from animas_core.config import AnimaModelConfig, AnimaWorksConfig, Credential, write_config
from animas_core.runtime import ServiceRuntime
from animas_core.settings import NatsSettings
from animas_gateway.app import create_app
from animas_gateway.settings import GatewaySettings
from animas_memory_writer.app import setup as setup_writer
from animas_memory_writer.settings import MemoryWriterSettings
from animas_tools.animas_cli import creation_event
from animas_tools.publish import publish_change
from animas_tools.scripted_llm import ScriptedLLM

pytestmark = [pytest.mark.nats]


def _provider(service: str, exporter: InMemorySpanExporter) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


@pytest.fixture
async def services(
    tmp_path: Path, nats_server: str, scripted_llm: ScriptedLLM
) -> AsyncIterator[tuple[str, InMemorySpanExporter, Path]]:
    exporter = InMemorySpanExporter()
    write_config(
        tmp_path / "config.json",
        AnimaWorksConfig(
            credentials={"scripted": Credential(base_url=scripted_llm.openai_base)},
            anima_defaults=AnimaModelConfig(model="openai/scripted", credential="scripted"),
            animas={"sample": AnimaModelConfig()},
        ),
    )
    nats_settings = NatsSettings(url=nats_server)
    gateway_settings = GatewaySettings(home=tmp_path, gateway_port=0)
    gateway_provider = _provider("gateway", exporter)
    gateway = ServiceRuntime("gateway", gateway_settings, nats_settings, tracer_provider=gateway_provider)
    runner_settings = AgentRunnerSettings(home=tmp_path)
    runner = ServiceRuntime(
        "agent-runner", runner_settings, nats_settings, tracer_provider=_provider("agent-runner", exporter)
    )
    writer_settings = MemoryWriterSettings(home=tmp_path)
    writer = ServiceRuntime(
        "memory-writer", writer_settings, nats_settings, tracer_provider=_provider("memory-writer", exporter)
    )
    await provision(nats_server)
    for runtime in (gateway, runner, writer):
        await runtime.connect()
    await setup_runner(runner, runner_settings)
    await setup_writer(writer, writer_settings)
    for runtime in (gateway, runner, writer):
        await runtime.start()
    admin = await nats.connect(nats_server)
    sample = template_files(AnimaSpec(name="sample", role="general"), "general")
    assert isinstance(
        await publish_change(admin, creation_event("sample", sample, "template:general")), MemoryOpApplied
    )
    await admin.close()
    app = create_app(gateway, gateway_settings, tracer_provider=gateway_provider)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", exporter, tmp_path
    finally:
        server.should_exit = True
        await serving
        for runtime in (gateway, runner, writer):
            await runtime.stop()


def _ancestors(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[ReadableSpan]:
    chain = []
    while span.parent is not None and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
        chain.append(span)
    return chain


async def test_http_span_is_the_ancestor_of_runner_and_writer_spans(
    services: tuple[str, InMemorySpanExporter, Path], scripted_llm: ScriptedLLM
) -> None:
    url, exporter, home = services
    scripted_llm.load([{"text": "traced"}])
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(f"{url}/api/animas/sample/chat", json={"message": "trace me"})
    assert response.json()["reply"] == "traced"
    log = home / "animas" / "sample" / "activity_log"
    for _ in range(200):  # the projection is asynchronous: wait for the reply to be written
        if "traced" in "".join(p.read_text() for p in log.glob("*.jsonl")):
            break
        await asyncio.sleep(0.05)

    spans = exporter.get_finished_spans()
    by_id = {s.context.span_id: s for s in spans}
    http = next(s for s in spans if s.name == "POST /api/animas/{name}/chat")

    def descendants(service: str) -> list[ReadableSpan]:
        return [
            s
            for s in spans
            if s.resource.attributes[SERVICE_NAME] == service and http in _ancestors(s, by_id)
        ]

    runner_spans = descendants("agent-runner")
    writer_spans = descendants("memory-writer")
    assert any("message.received" in s.name for s in runner_spans), [s.name for s in runner_spans]
    assert any("response.sent" in s.name for s in writer_spans), [s.name for s in writer_spans]
    assert any("message.received" in s.name for s in writer_spans)
    assert {s.context.trace_id for s in runner_spans + writer_spans} == {http.context.trace_id}
