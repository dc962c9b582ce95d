"""The gateway's own OpenAPI document, fuzzed against the gateway `anima up` runs (schemathesis).

For every operation the document describes, schemathesis generates requests from its parameters
and bodies, valid ones and invalid ones, and checks each answer: never a server error, a status
and a content type the document lists for it, a body that matches the documented schema.
Bounded and deterministic (a few examples per operation, derandomized), so it runs the same in
CI every time.

Left out: the routes that start an anima's cycle (chat, a manual trigger, a cycle replay), the
live feeds (server-sent events and WebSockets never end), and ``PUT /api/config`` (a valid
random config would replace this system's, scripted LLM included). A person's injection edit
and a manual trigger are checked once, directly, on the same system.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from tests.conftest import RunningSystem, scripted_config, start_system

from animas_tools.scripted_llm import ScriptedLLM

pytestmark = [pytest.mark.e2e]

EXAMPLES = 6
"""Generated requests per operation, of valid data and again of invalid data."""
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def fuzzed(method: str, path: str, operation: dict[str, Any]) -> bool:
    """Whether an operation is fuzzed here (see the module's docstring for what is left out)."""
    success: dict[str, Any] = next(iter(operation.get("responses", {}).values()), {})
    live = any(media == "text/event-stream" for media in success.get("content", {}))
    starts_a_cycle = path.endswith(("/chat", "/chat/stream", "/trigger", "/replay"))
    return (
        not live
        and not starts_a_cycle
        and not path.endswith("/ws")
        and (method, path) != ("put", "/api/config")
    )


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    with ScriptedLLM([{"text": "Still here."}], repeat=True) as llm:
        running = start_system(tmp_path_factory.mktemp("fuzz") / "home")
        try:
            running.configure(scripted_config(llm))
            yield running
        finally:
            running.stop()


def test_a_persons_injection_edit_and_a_manual_trigger_reach_the_system(system: RunningSystem) -> None:
    edited = httpx.put(
        f"{system.url}/api/animas/sample/injection", json={"content": "# Injection\nBe brief.\n"}, timeout=60
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["status"] == "applied" and edited.json()["paths"] == ["injection.md"]
    assert (system.home / "animas" / "sample" / "injection.md").read_text() == "# Injection\nBe brief.\n"
    anima = httpx.get(f"{system.url}/api/animas/sample", timeout=30).json()
    assert anima["injection"] == "# Injection\nBe brief.\n" and anima["name"] == "sample"
    [written] = system.events("sample", "anima.file.written")
    assert written["author"] == "local" and written["path"] == "injection.md"

    fired = httpx.post(f"{system.url}/api/animas/sample/trigger", json={"kind": "heartbeat"}, timeout=30)
    assert fired.status_code == 202, fired.text
    [due] = system.events("sample", "heartbeat.due")
    assert due["id"] == fired.json()["event_id"] and due["scheduled_by"] == "manual"


def test_every_operation_answers_as_its_document_says(system: RunningSystem) -> None:
    # An admin token: the document says every scoped route takes one, and schemathesis would
    # otherwise send a made-up one (a 401 for everything).
    token = system.anima("token", "create", "fuzz", "--scope", "admin").stdout.strip()
    bearer = {"Authorization": f"Bearer {token}"}
    document = httpx.get(f"{system.url}/openapi.json", timeout=30).json()
    schema = schemathesis.openapi.from_dict(document)
    chosen = [
        (method, path)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if fuzzed(method, path, operation)
    ]
    assert len(chosen) >= 10, chosen
    seen: set[tuple[str, str, int]] = set()
    failures: list[str] = []
    for (method, path), mode in itertools.product(chosen, (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)):
        described = document["paths"][path][method]
        if mode is GenerationMode.NEGATIVE and not (described["parameters"] or "requestBody" in described):
            continue  # nothing it takes can be wrong
        operation = schema[path][method.upper()]

        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode), existing=st.booleans())
        def answers_as_documented(case: Any, existing: bool) -> None:
            # Half the time about an anima that exists: a random name is only ever a 404.
            for param in ("name", "anima"):
                if existing and param in (case.path_parameters or {}):
                    case.path_parameters[param] = "sample"
            response = case.call(base_url=system.url, headers=bearer, timeout=30)
            seen.add((case.method.lower(), case.operation.path, response.status_code))
            case.validate_response(response, checks=CHECKS, headers=bearer)

        try:
            answers_as_documented()
        except (Exception, BaseExceptionGroup) as exc:  # every operation's failures are reported together
            failures.append(f"{method.upper()} {path} ({mode.value} data): {exc!r}")
    assert not failures, "\n\n".join(failures)
    # The token let the requests through: the read routes answered with their documented bodies.
    answered = {(m, p) for m, p, status in seen if status < 300}
    assert {("get", "/api/services"), ("get", "/api/streams"), ("get", "/api/config")} <= answered, seen
    assert {("get", "/api/animas/{name}"), ("get", "/api/animas/{name}/schedule")} <= answered, seen
