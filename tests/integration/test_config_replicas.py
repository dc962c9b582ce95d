"""`anima config set` changes two agent-runner replicas without a restart (issue #18, item 4).

A real nats-server with the per-service users of authority.py; two agent-runner replicas, each
with its own NATS connection and its own home, whose config.json holds only what that pod would
hold (the model key, as a mounted Secret would, and a stale model that the bucket overrides);
memory-writer; a scripted OpenAI-compatible LLM that accepts only the pods' key. The operator
seeds the CONFIG bucket, the replicas answer with the first model, `anima config set --nats-url`
runs once, and the next cycles, on both replicas, ask for the second model.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.aio.client import Client
from tests.conftest import provision

from animas_agent_runner.app import default_models
from animas_agent_runner.app import setup as setup_runner
from animas_agent_runner.ports import ModelTarget, TextSink, TurnModel, TurnRequest, TurnResult
from animas_agent_runner.settings import AgentRunnerSettings
from animas_contracts import MemoryOpApplied, MessageReceived, derive_id, encode_event
from animas_contracts.subjects import HEADER_MSG_ID, activity_subject
from animas_core.anima_files import AnimaSpec, template_files
from animas_core.config import parse_config, write_config
from animas_core.config_store import CONFIG_BUCKET, CONFIG_KEY, publish_config, read_config, seed_config
from animas_core.home import Home
from animas_core.provision import provision as provision_as_operator
from animas_core.runtime import ServiceRuntime
from animas_core.settings import NatsSettings, ProvisionSettings
from animas_core.streams import read_stored
from animas_memory_writer.app import setup as setup_writer
from animas_memory_writer.settings import MemoryWriterSettings
from animas_tools.animas_cli import creation_event
from animas_tools.authority import ADMIN_USER
from animas_tools.config_sync import ConfigMirror, instances_behind
from animas_tools.nats_server import NatsServer, NatsUser, load_or_create_users
from animas_tools.publish import publish_change
from animas_tools.scripted_llm import ScriptedLLM
from animas_tools.system import SystemInfo

pytestmark = [pytest.mark.nats]

POD_KEY = "pod-secret-key"
OPERATOR_KEY = "operator-laptop-key"
ANIMAS = ("alice", "bob", "carol", "dave")
REPLICAS = ("runner-a", "runner-b")
MAX_MESSAGES = 40
"""Messages sent, at most, until both replicas have answered one (which replica pulls is the broker's)."""


class Recorded:
    """A replica's real model clients, noting each call's model first: which replica made which call."""

    def __init__(self, replica: str, inner: TurnModel, calls: list[tuple[str, str]]) -> None:
        self._replica, self._inner, self._calls = replica, inner, calls

    async def turn(self, target: ModelTarget, request: TurnRequest, on_text: TextSink) -> TurnResult:
        self._calls.append((self._replica, target.model))
        return await self._inner.turn(target, request, on_text)


@dataclass
class Cluster:
    url: str
    users: dict[str, NatsUser]
    operator: Client
    llm: ScriptedLLM
    calls: list[tuple[str, str]]
    sent: int = 0

    @property
    def admin_url(self) -> str:
        return self.url.replace("nats://", f"nats://{ADMIN_USER}:{self.users[ADMIN_USER].password}@")


@pytest.fixture
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM(api_key=POD_KEY) as server:  # a request with any other key is a 401
        server.load([{"text": "answered"}], repeat=True)
        yield server


@pytest.fixture
async def cluster(tmp_path: Path, llm: ScriptedLLM) -> AsyncIterator[Cluster]:
    users = load_or_create_users(tmp_path / "users.json")
    server = NatsServer(tmp_path / "nats", users=users).start()
    runtimes: list[ServiceRuntime] = []
    operator: Client | None = None
    try:
        await provision(server.url, users)
        operator = await nats.connect(server.url, user=ADMIN_USER, password=users[ADMIN_USER].password)
        # The operator's config: the key on the operator's machine never reaches the bucket.
        seeded = parse_config(
            {
                "credentials": {"scripted": {"base_url": llm.openai_base, "api_key": OPERATOR_KEY}},
                "anima_defaults": {"model": "openai/first-model", "credential": "scripted"},
            }
        )
        assert await seed_config(operator.jetstream(), seeded)
        calls: list[tuple[str, str]] = []
        for replica in REPLICAS:
            home = tmp_path / replica
            # What this pod holds itself: the key (a mounted Secret) and a model the bucket overrides.
            pods = {
                "credentials": {"scripted": {"api_key": POD_KEY}},
                "anima_defaults": {"model": "openai/stale"},
            }
            write_config(home / "config.json", parse_config(pods))
            settings = AgentRunnerSettings(home=home, instance_id=replica)
            runtime = ServiceRuntime("agent-runner", settings, _as(server.url, users["agent-runner"]))
            await runtime.connect()
            models: dict[str, TurnModel] = {
                name: Recorded(replica, model, calls) for name, model in default_models(settings).items()
            }
            await setup_runner(runtime, settings, models=models)
            runtimes.append(runtime)
        writer_settings = MemoryWriterSettings(home=tmp_path / "memory-writer", instance_id="writer")
        writer = ServiceRuntime("memory-writer", writer_settings, _as(server.url, users["memory-writer"]))
        await writer.connect()
        await setup_writer(writer, writer_settings)
        runtimes.append(writer)
        for runtime in runtimes:
            await runtime.start()
        for anima in ANIMAS:
            files = template_files(AnimaSpec(name=anima, role="general"), "general")
            answer = await publish_change(operator, creation_event(anima, files, "template:general"))
            assert isinstance(answer, MemoryOpApplied)
        yield Cluster(server.url, users, operator, llm, calls)
    finally:
        for runtime in runtimes:
            await runtime.stop()
        if operator is not None:
            await operator.close()
        server.stop()


def _as(url: str, user: NatsUser) -> NatsSettings:
    return NatsSettings(url=url, user=user.name, password=user.password)


async def _chat(cluster: Cluster) -> None:
    """One message to the next anima, then wait until its cycle has answered."""
    anima = ANIMAS[cluster.sent % len(ANIMAS)]
    cluster.sent += 1
    event = MessageReceived(
        id=derive_id("config-replicas", str(cluster.sent)),
        anima=anima,
        correlation_id=f"chat-{cluster.sent}",
        producer="gateway",
        ts=datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
        text=f"message {cluster.sent}",
        sender="human",
        thread_id="dm:human",
    )
    js = cluster.operator.jetstream()
    subject = activity_subject(anima, event.event_type)
    await js.publish(subject, encode_event(event), headers={HEADER_MSG_ID: event.id})
    for _ in range(600):  # a bound, not a measurement
        replies = [m async for m in read_stored(js, "activity.*.*.response.sent")]
        if len(replies) >= cluster.sent:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"message {cluster.sent} to {anima} was not answered")


async def _until_both_replicas_answer(cluster: Cluster) -> list[tuple[str, str]]:
    """Chat until each replica has made a model call since now; those calls."""
    start = len(cluster.calls)
    for _ in range(MAX_MESSAGES):
        await _chat(cluster)
        if {replica for replica, _ in cluster.calls[start:]} == set(REPLICAS):
            return cluster.calls[start:]
    raise AssertionError(f"in {MAX_MESSAGES} messages one replica never answered: {cluster.calls[start:]}")


async def _anima(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "animas_tools.cli",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    return process.returncode or 0, out.decode(), err.decode()


async def test_config_set_changes_both_replicas_without_a_restart(cluster: Cluster, tmp_path: Path) -> None:
    before = await _until_both_replicas_answer(cluster)
    assert {model for _, model in before} == {"openai/first-model"}
    requests_before = len(cluster.llm.requests)

    code, out, err = await _anima(
        "config", "set", "anima_defaults.model", "openai/second-model",
        "--nats-url", cluster.admin_url, "--home", str(tmp_path / "operator"),
    )  # fmt: skip
    assert code == 0, err
    assert out.strip() == "anima_defaults.model = openai/second-model"
    # Both replicas and memory-writer hold the new revision before the command returns.
    assert "taken by 3 service instance(s)" in err and "warning" not in err

    after = await _until_both_replicas_answer(cluster)
    assert {model for _, model in after} == {"openai/second-model"}
    bodies = [r["body"] for r in cluster.llm.requests[requests_before:]]
    assert bodies and {body["model"] for body in bodies} == {"second-model"}
    assert not (tmp_path / "operator" / "config.json").exists()  # a cluster's operator needs none


async def test_config_set_refuses_secrets_and_invalid_values_and_writes_nothing(
    cluster: Cluster, tmp_path: Path
) -> None:
    js = cluster.operator.jetstream()
    first = await read_config(js)
    assert first is not None and first.document is not None
    home = ("--home", str(tmp_path / "operator"), "--nats-url", cluster.admin_url)

    code, _, err = await _anima("config", "set", "credentials.scripted.api_key", "sk-new-key", *home)
    assert code == 1 and "secrets never go into the config bucket" in err
    assert "ANIMAWORKS_CREDENTIAL_SCRIPTED_API_KEY" in err
    # A secret inside an object, or a token digest, is refused just the same and never printed.
    for key, value in [
        ("credentials.x", '{"api_key": "sk-new-key"}'),
        ("credentials", '{"x": {"api_key": "sk-new-key"}}'),
        ("api.tokens.x", '{"scope": "chat", "sha256": "' + "c" * 64 + '"}'),
        ("api.tokens.x.sha256", "c" * 64),
    ]:
        code, out, err = await _anima("config", "set", key, value, *home)
        assert code == 1 and "sk-new-key" not in out + err and "c" * 64 not in out + err, (key, err)
    code, _, err = await _anima("config", "set", "anima_defaults.max_turns", "-3", *home)
    assert code == 1 and "anima_defaults.max_turns" in err and "left unchanged" in err

    latest = await read_config(js)
    assert latest is not None and latest.revision == first.revision
    code, out, _ = await _anima("config", "get", "anima_defaults.model", *home)
    assert (code, out.strip()) == (0, "openai/first-model")
    code, out, _ = await _anima("config", "show", *home)
    assert code == 0 and json.loads(out)["credentials"]["scripted"]["api_key"] == "***"
    history = await (await js.key_value(CONFIG_BUCKET)).history(CONFIG_KEY)
    stored: list[Any] = [entry.value or b"" for entry in history]
    assert stored and all(
        secret not in value
        for value in stored
        for secret in (b"sk-new-key", b"c" * 64, OPERATOR_KEY.encode(), POD_KEY.encode())
    )
    assert first.document["credentials"]["scripted"]["api_key"] == "***"


async def test_on_one_machine_config_json_and_the_bucket_change_together_and_keys_stay_in_the_file(
    cluster: Cluster, tmp_path: Path
) -> None:
    home = Home(tmp_path / "operator-home")
    stored = await read_config(cluster.operator.jetstream())
    assert stored is not None and stored.document is not None
    # The home `anima up` runs: its config.json, and the record of the running system.
    write_config(home.config_file, parse_config(stored.document))
    SystemInfo(cluster.admin_url, None, os.getpid(), embedded_nats=False).write(home)

    code, out, err = await _anima(
        "config", "set", "credentials.scripted.api_key", "sk-kept-local", "--home", str(home.root)
    )
    assert code == 0, err
    assert out.strip() == "credentials.scripted.api_key = ***"
    code, _, err = await _anima("config", "set", "anima_defaults.max_turns", "7", "--home", str(home.root))
    assert code == 0 and "taken by 3 service instance(s)" in err, err

    assert "sk-kept-local" in home.config_file.read_text()
    latest = await read_config(cluster.operator.jetstream())
    assert latest is not None and latest.document is not None
    assert latest.document["anima_defaults"]["max_turns"] == 7
    assert latest.document["credentials"]["scripted"]["api_key"] == "***"
    history = await (await cluster.operator.jetstream().key_value(CONFIG_BUCKET)).history(CONFIG_KEY)
    assert all(b"sk-kept-local" not in (entry.value or b"") for entry in history)


async def test_anima_up_mirrors_config_json_into_the_bucket(cluster: Cluster, tmp_path: Path) -> None:
    js = cluster.operator.jetstream()
    stored = await read_config(js)
    assert stored is not None and stored.document is not None
    path = tmp_path / "mirrored" / "config.json"
    mirror = ConfigMirror(path)
    edited = parse_config(stored.document)
    edited.anima_defaults.model = "openai/edited-by-hand"
    write_config(path, edited)  # as PUT /api/config, `anima token` or an editor would
    revision = await mirror.sync(js)
    assert revision is not None and revision > stored.revision
    assert await mirror.sync(js) is None  # unchanged file: nothing published

    path.write_text('{"anima_defaults": {"max_turns": "lots"}}')
    assert await mirror.sync(js) is None  # an invalid file is not published
    latest = await read_config(js)
    assert latest is not None and latest.revision == revision

    for _ in range(200):  # every instance reports the revision it holds (a bound, not a measurement)
        holding, behind = await instances_behind(js, revision)
        if len(holding) == 3 and not behind:
            break
        await asyncio.sleep(0.05)
    assert (len(holding), behind) == (3, [])
    calls = len(cluster.calls)
    await _chat(cluster)
    assert {model for _, model in cluster.calls[calls:]} == {"openai/edited-by-hand"}


async def test_anima_up_against_a_cluster_never_publishes_over_its_bucket(
    cluster: Cluster, tmp_path: Path
) -> None:
    js = cluster.operator.jetstream()
    stored = await read_config(js)
    assert stored is not None and stored.document is not None
    path = tmp_path / "up-home" / "config.json"
    stale = parse_config(stored.document)
    stale.anima_defaults.model = "openai/stale-home-copy"
    write_config(path, stale)
    mirror = ConfigMirror(path, seed_only=True)  # as `anima up --nats-url` makes it
    assert await mirror.sync(js) is None  # the bucket holds a config: left as it is
    stale.anima_defaults.model = "openai/edited-later"
    write_config(path, stale)
    assert await mirror.sync(js) is None
    latest = await read_config(js)
    assert latest is not None and latest.revision == stored.revision
    assert latest.document == stored.document


async def test_provisioning_seeds_the_bucket_once(
    secured_nats: tuple[str, dict[str, NatsUser]], tmp_path: Path
) -> None:
    url, users = secured_nats
    admin = NatsSettings(url=url, user=ADMIN_USER, password=users[ADMIN_USER].password)
    path = tmp_path / "secret" / "config.json"
    write_config(
        path,
        parse_config(
            {"anima_defaults": {"model": "openai/seeded"}, "credentials": {"x": {"api_key": "sk-seed"}}}
        ),
    )
    await provision_as_operator(admin, ProvisionSettings(config_file=path))
    nc = await nats.connect(url, user=ADMIN_USER, password=users[ADMIN_USER].password)
    try:
        js = nc.jetstream()
        seeded = await read_config(js)
        assert seeded is not None and seeded.document is not None
        assert seeded.document["anima_defaults"]["model"] == "openai/seeded"
        assert seeded.document["credentials"]["x"]["api_key"] == "***"
        changed = parse_config(seeded.document)
        changed.anima_defaults.model = "openai/set-since"
        await publish_config(js, changed, last=seeded.revision)
        await provision_as_operator(admin, ProvisionSettings(config_file=path))  # the job runs again
        latest = await read_config(js)
        assert latest is not None and latest.document is not None
        assert latest.document["anima_defaults"]["model"] == "openai/set-since"
    finally:
        await nc.close()
