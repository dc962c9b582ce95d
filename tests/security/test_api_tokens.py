"""API tokens (issue #12, item 8) against `anima up` with its gateway on every address, over real HTTP.

Requests from another address go to this machine's own non-loopback IP (what ``hostname -I``
lists), so the gateway sees a client that is not loopback; the same gateway is also called on
127.0.0.1. Tokens come from the real ``anima token`` command and live, hashed, in config.json.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.conftest import RunningSystem, scripted_config, settled
from tests.security.gateway_harness import non_loopback_address, start_system_on

from animas_tools.scripted_llm import ScriptedLLM

pytestmark = [pytest.mark.nats, pytest.mark.e2e, pytest.mark.slow]

OTHER_ADDRESS = non_loopback_address()
needs_other_address = pytest.mark.skipif(
    OTHER_ADDRESS is None, reason="this machine has no non-loopback address to call the gateway from"
)

IDENTITY = "# Identity: tanaka\n\n## Personality Traits\n- edited with a token\n"


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM([{"text": "Hello from the script."}], repeat=True) as server:
        yield server


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory, llm: ScriptedLLM) -> Iterator[RunningSystem]:
    running = start_system_on(tmp_path_factory.mktemp("tokens") / "home", "0.0.0.0", {})
    try:
        running.configure(scripted_config(llm, ("sample", "tanaka")))
        local = _local(running)
        created = httpx.post(
            f"{local}/api/animas", json={"name": "tanaka", "template": "engineer"}, timeout=60
        )
        assert created.status_code == 201, created.text
        yield running
    finally:
        running.stop()


def _port(system: RunningSystem) -> int:
    return int(system.url.rsplit(":", 1)[1])


def _local(system: RunningSystem) -> str:
    return f"http://127.0.0.1:{_port(system)}"


def _remote(system: RunningSystem) -> str:
    return f"http://{OTHER_ADDRESS}:{_port(system)}"


def _token(system: RunningSystem, name: str, scope: str) -> str:
    created = system.anima("token", "create", name, "--scope", scope)
    token = created.stdout.strip()
    assert token.startswith("awt_") and "\n" not in token
    return token


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _identity_authors(system: RunningSystem) -> list[str]:
    out = system.anima("events", "--anima", "tanaka", "--type", "identity.revised", "--json").stdout
    return [json.loads(line)["author"] for line in out.splitlines() if line.strip()]


@needs_other_address
def test_a_request_from_another_address_without_a_token_is_401(system: RunningSystem) -> None:
    remote = _remote(system)
    with httpx.Client(base_url=remote, timeout=60) as client:
        refused = [
            client.post("/api/animas/sample/chat", json={"message": "hi"}),
            client.post("/api/animas/sample/chat/stream", json={"message": "hi"}),
            client.get("/api/animas"),
            client.post("/api/animas", json={"name": "eve", "template": "writer"}),
            client.put("/api/animas/tanaka/identity", json={"content": IDENTITY}),
            client.patch("/api/animas/tanaka/status", json={"enabled": False}),
            client.get("/api/nowhere"),
        ]
        health = client.get("/api/health")
    assert [r.status_code for r in refused] == [401] * len(refused)
    assert all(r.headers["www-authenticate"].startswith("Bearer") for r in refused)
    assert "anima token create" in refused[0].json()["error"]
    assert health.status_code == 200  # a probe from elsewhere needs no token
    # The same request from this machine needs none (api.require_token_on_loopback is off).
    local = system.chat("sample", "hi")
    assert local.status_code == 200 and local.json()["reply"] == "Hello from the script."


@needs_other_address
def test_scopes_decide_what_a_token_may_do_and_the_author_is_the_token(system: RunningSystem) -> None:
    chat_token, admin_token = _token(system, "phone", "chat"), _token(system, "ops", "admin")
    remote = _remote(system)
    with httpx.Client(base_url=remote, timeout=60) as client:
        chatted = client.post("/api/animas/sample/chat", json={"message": "hi"}, headers=_bearer(chat_token))
        with client.stream(
            "POST", "/api/animas/sample/chat/stream", json={"message": "hi"}, headers=_bearer(chat_token)
        ) as streamed:
            frames = "".join(streamed.iter_text())
        chat_lists = client.get("/api/animas", headers=_bearer(chat_token))
        chat_edits = client.put(
            "/api/animas/tanaka/identity", json={"content": IDENTITY}, headers=_bearer(chat_token)
        )
        admin_lists = client.get("/api/animas", headers=_bearer(admin_token))
        admin_edits = client.put(
            "/api/animas/tanaka/identity", json={"content": IDENTITY}, headers=_bearer(admin_token)
        )
        forged = client.put(
            "/api/animas/tanaka/identity",
            json={"content": IDENTITY, "author": "consolidation"},
            headers=_bearer(admin_token),
        )
        bad = client.post(
            "/api/animas/sample/chat", json={"message": "hi"}, headers=_bearer(chat_token + "x")
        )
    local_edit = httpx.put(
        f"{_local(system)}/api/animas/tanaka/identity", json={"content": IDENTITY}, timeout=60
    )

    assert (chatted.status_code, chatted.json()["reply"]) == (200, "Hello from the script.")
    assert streamed.status_code == 200 and "event: reply" in frames
    assert chat_lists.status_code == chat_edits.status_code == 403
    assert "needs 'admin'" in chat_edits.json()["error"]
    assert admin_lists.status_code == 200
    assert {a["name"] for a in admin_lists.json()["animas"]} >= {"sample", "tanaka"}
    assert admin_edits.status_code == 200, admin_edits.text
    assert (system.home / "animas/tanaka/identity.md").read_text() == IDENTITY
    assert forged.status_code == 422 and "'author' is not accepted" in forged.json()["error"]
    assert bad.status_code == 401
    assert local_edit.status_code == 200
    assert _identity_authors(system) == ["ops", "local"]


@needs_other_address
def test_a_revoked_token_is_refused_from_the_next_request(system: RunningSystem) -> None:
    token = _token(system, "laptop", "chat")
    url = f"{_remote(system)}/api/animas/sample/chat"
    assert httpx.post(url, json={"message": "hi"}, headers=_bearer(token), timeout=60).status_code == 200
    system.anima("token", "revoke", "laptop")
    assert httpx.post(url, json={"message": "hi"}, headers=_bearer(token), timeout=60).status_code == 401


def test_loopback_needs_a_token_once_the_config_says_so(system: RunningSystem) -> None:
    token = _token(system, "local-bot", "chat")
    url = f"{_local(system)}/api/animas/sample/chat"
    system.anima("config", "set", "api.require_token_on_loopback", "true")
    try:
        without = httpx.post(url, json={"message": "hi"}, timeout=60)
        with_token = httpx.post(url, json={"message": "hi"}, headers=_bearer(token), timeout=60)
    finally:
        system.anima("config", "set", "api.require_token_on_loopback", "false")
    assert without.status_code == 401
    assert with_token.status_code == 200


def test_tokens_never_reach_events_logs_or_files(system: RunningSystem) -> None:
    token = _token(system, "audited", "admin")
    local = _local(system)
    assert httpx.put(
        f"{local}/api/animas/tanaka/identity", json={"content": IDENTITY}, headers=_bearer(token), timeout=60
    ).is_success
    httpx.post(
        f"{local}/api/animas/sample/chat", json={"message": "hi"}, headers=_bearer(token + "x"), timeout=60
    )
    for _ in range(600):
        if settled(system):
            break
    events = system.anima("events", "--json").stdout
    assert "audited" in events  # the token's name is the author...
    assert token not in events  # ...the token itself is nowhere
    for path in _every_file(system.home, system.output):
        assert token.encode() not in path.read_bytes(), path


def _every_file(home: Path, up_log: Path) -> list[Path]:
    return [up_log, *(p for p in home.rglob("*") if p.is_file())]
