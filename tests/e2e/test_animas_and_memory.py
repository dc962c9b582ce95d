"""Animas and their memory end to end: creation, the write boundary, hand edits, export/import, rebuild."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import nats
import nats.errors
import pytest
from tests.conftest import RunningSystem, settled, start_system

from animas_contracts import (
    CreateTask,
    Event,
    IdentityRevised,
    MemoryOp,
    MemoryOpApplied,
    MemoryOpRequested,
    TaskState,
    TransitionTask,
    WriteFile,
    WriteKnowledge,
    uuid7,
)
from animas_contracts.subjects import inbox_prefix
from animas_tools.publish import Answer, publish_change
from animas_tools.scripted_llm import ScriptedLLM

pytestmark = [pytest.mark.e2e, pytest.mark.nats, pytest.mark.slow]

ENV_KEY = "env-secret-4711"
EXAMPLE_SHEET = (
    Path(__file__).resolve().parents[2]
    / "services/core/src/animas_core/templates/examples/character-sheet.md"
)


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM(
        api_key=ENV_KEY, repeat=True, turns=[{"text": "answered with the key from the environment"}]
    ) as server:
        yield server


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    env = {"ANIMAWORKS_CREDENTIAL_SCRIPTED_API_KEY": ENV_KEY, "ANIMAWORKS_WATCH_INTERVAL_S": "0.5"}
    running = start_system(tmp_path_factory.mktemp("memory") / "home", env)
    try:
        yield running
    finally:
        running.stop()


def _user_password(system: RunningSystem, user: str) -> str:
    return str(json.loads((system.home / "nats" / "users.json").read_text())[user])


def publish_as(system: RunningSystem, user: str, event: Event) -> Answer:
    async def run() -> Answer:
        nc = await nats.connect(
            system.info["nats_url"],
            user=user,
            password=_user_password(system, user),
            inbox_prefix=inbox_prefix(user),  # a service's user may use its own inboxes only
        )
        try:
            return await publish_change(nc, event, timeout_s=20)
        finally:
            await nc.close()

    return asyncio.run(run())


def op(anima: str, operation: MemoryOp) -> MemoryOpRequested:
    event_id = uuid7()
    return MemoryOpRequested(
        id=event_id, anima=anima, correlation_id=event_id, producer="agent-runner", op=operation
    )


def wait_for(predicate: Callable[[], bool], what: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def remove_atomically(root: Path) -> None:
    """Delete a directory in one step: the hand-edit watcher would record a slow rmtree, file by
    file, as a person deleting memories (which it is), and the rebuild would replay that."""
    gone = root.with_name(root.name + ".deleted")
    root.rename(gone)
    shutil.rmtree(gone)


def tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.startswith("anima.db")
    }


def test_create_from_a_template_and_from_a_character_sheet(system: RunningSystem) -> None:
    out = system.anima("create", "tanaka", "--template", "engineer").stdout
    assert "created tanaka (template:engineer" in out
    system.anima("create", "suzuki", "--from-sheet", str(EXAMPLE_SHEET))
    for name in ("tanaka", "suzuki"):
        root = system.home / "animas" / name
        for folder in (
            "episodes",
            "knowledge",
            "procedures",
            "skills",
            "state",
            "shortterm",
            "transcripts",
            "activity_log",
        ):
            assert (root / folder).is_dir(), f"{name}/{folder}"
        for file in (
            "identity.md",
            "injection.md",
            "permissions.md",
            "heartbeat.md",
            "cron.md",
            "bootstrap.md",
            "status.json",
        ):
            assert (root / file).is_file(), f"{name}/{file}"
    assert (
        json.loads((system.home / "animas/suzuki/status.json").read_text())["created_from"]
        == "character-sheet"
    )
    listing = system.anima("list").stdout
    assert "tanaka" in listing and "suzuki" in listing and "sample" in listing


def test_a_sheet_missing_sections_and_a_bad_name_are_refused(system: RunningSystem, tmp_path: Path) -> None:
    sheet = tmp_path / "sheet.md"
    sheet.write_text("# Character Sheet: kato\n\n## Personality Traits\n- calm\n\n## Role\nTester\n")
    result = system.anima("create", "kato", "--from-sheet", str(sheet), check=False)
    assert result.returncode == 1
    assert "missing sections: Strengths, Weaknesses, Principles" in result.stderr
    bad = system.anima("create", "Bad.Name", check=False)
    assert bad.returncode == 2 and "invalid anima name" in bad.stderr
    assert not (system.home / "animas" / "kato").exists()


def test_a_key_from_the_environment_is_used_and_never_recorded(
    system: RunningSystem, llm: ScriptedLLM
) -> None:
    system.configure(
        {
            "credentials": {"scripted": {"base_url": llm.openai_base}},
            "anima_defaults": {"model": "openai/scripted", "credential": "scripted"},
        }
    )
    body = system.chat("sample", "which key?").json()
    assert body["reply"] == "answered with the key from the environment"  # a wrong key gets a 401
    stream = system.anima("events", "--json").stdout
    logs = "".join(p.read_text() for p in (system.home / "run" / "logs").glob("*.log"))
    assert ENV_KEY not in stream and ENV_KEY not in logs and ENV_KEY not in system.output.read_text()
    assert ENV_KEY not in (system.home / "config.json").read_text()


def test_invalid_config_names_the_path(system: RunningSystem, tmp_path: Path) -> None:
    bad = tmp_path / "config.json"
    bad.write_text(json.dumps({"animas": {"tanaka": {"max_tokens": "lots"}}}))
    result = system.anima("config", "validate", "--file", str(bad), check=False)
    assert result.returncode == 1 and "animas.tanaka.max_tokens" in result.stderr


def test_paths_escaping_the_directory_are_rejected(system: RunningSystem) -> None:
    for path in ("../escape.md", "/tmp/escape.md", "knowledge/../../escape.md"):
        answer = publish_as(system, "agent-runner", op("tanaka", WriteFile(path=path, content="x")))
        assert not isinstance(answer, MemoryOpApplied) and answer.reason
    assert not (system.home / "animas" / "escape.md").exists() and not Path("/tmp/escape.md").exists()


def test_identity_is_changed_by_consolidation_never_by_agent_runner(system: RunningSystem) -> None:
    event_id = uuid7()
    revision = IdentityRevised(
        id=event_id,
        anima="tanaka",
        correlation_id=event_id,
        producer="consolidator",
        content="# Identity: tanaka\n\n## Personality Traits\n- distilled\n",
        author="consolidation",
    )
    with pytest.raises((nats.errors.TimeoutError, TimeoutError, nats.errors.Error)):
        publish_as(system, "agent-runner", revision)
    assert "distilled" not in (system.home / "animas/tanaka/identity.md").read_text()

    assert isinstance(publish_as(system, "consolidator", revision), MemoryOpApplied)
    assert "distilled" in (system.home / "animas/tanaka/identity.md").read_text()

    for protected in ("permissions.md", "cron.md"):
        answer = publish_as(
            system, "agent-runner", op("tanaka", WriteFile(path=protected, content="# mine now"))
        )
        assert not isinstance(answer, MemoryOpApplied) and "protected" in answer.reason


def test_a_hand_edit_becomes_an_event(system: RunningSystem) -> None:
    answer = publish_as(
        system,
        "agent-runner",
        op("tanaka", WriteKnowledge(path="knowledge/contacts.md", content="- Tanaka-san")),
    )
    assert isinstance(answer, MemoryOpApplied)
    path = system.home / "animas/tanaka/knowledge/contacts.md"
    path.write_text(path.read_text() + "- Suzuki-san (added by hand)\n")

    def recorded() -> bool:
        return (
            "knowledge/contacts.md"
            in system.anima("events", "--anima", "tanaka", "--type", "memory.edited", "--json").stdout
        )

    wait_for(recorded, "the hand edit to be recorded")


def test_tasks_follow_the_state_machine(system: RunningSystem) -> None:
    for operation in (
        CreateTask(task_id="t-1", title="Draft the design"),
        TransitionTask(task_id="t-1", to=TaskState.DONE),
    ):
        assert isinstance(publish_as(system, "agent-runner", op("tanaka", operation)), MemoryOpApplied)
    illegal = publish_as(
        system, "agent-runner", op("tanaka", TransitionTask(task_id="t-1", to=TaskState.IN_PROGRESS))
    )
    assert not isinstance(illegal, MemoryOpApplied) and "final state" in illegal.reason
    assert "Nothing pending." in (system.home / "animas/tanaka/state/pending.md").read_text()


def test_services_other_than_memory_writer_hold_no_anima_files(system: RunningSystem) -> None:
    service_home = system.home / "run" / "service-home"
    assert service_home.is_dir() and list(service_home.rglob("*")) == []


def test_export_delete_import_then_rebuild_byte_identical(
    system: RunningSystem, tmp_path_factory: pytest.TempPathFactory
) -> None:
    knowledge = op("tanaka", WriteKnowledge(path="knowledge/lesson.md", content="- [IMPORTANT] be formal"))
    assert isinstance(publish_as(system, "agent-runner", knowledge), MemoryOpApplied)
    # Larger than an event may carry inline: it travels through the object store.
    big = "\n".join(f"- fact {i}: " + "x" * 60 for i in range(3000))
    assert isinstance(
        publish_as(
            system, "agent-runner", op("tanaka", WriteKnowledge(path="knowledge/big.md", content=big))
        ),
        MemoryOpApplied,
    )
    archive = tmp_path_factory.mktemp("export") / "tanaka.tar.gz"
    system.anima("export", "tanaka", "-o", str(archive))
    original = tree(system.home / "animas" / "tanaka")

    second = start_system(tmp_path_factory.mktemp("fresh") / "home")
    try:
        second.anima("import", str(archive))
        imported_root = second.home / "animas" / "tanaka"
        for file in (
            "identity.md",
            "knowledge/lesson.md",
            "knowledge/contacts.md",
            "knowledge/big.md",
            "permissions.md",
        ):
            assert (imported_root / file).read_bytes() == original[file], file
        before = tree(imported_root)

        remove_atomically(imported_root)
        second.anima("replay", "rebuild", "--anima", "tanaka")

        assert tree(imported_root) == before
    finally:
        second.stop()


def sqlite_dump(path: Path) -> list[str]:
    """The database as SQL statements: what a rebuild must reproduce (the file's bytes may differ)."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        return list(db.iterdump())


def test_rebuilding_from_the_stream_restores_memory_byte_identical(system: RunningSystem) -> None:
    root = system.home / "animas" / "tanaka"
    wait_for(lambda: settled(system), "memory-writer to apply everything stored")
    before = tree(root)
    database = sqlite_dump(root / "state" / "anima.db")
    others = tree(system.home / "animas" / "sample")
    remove_atomically(root)
    system.anima("replay", "rebuild", "--anima", "tanaka")
    assert tree(root) == before
    # SQLite state (tasks, access and outcome statistics) is rebuilt logically identical.
    assert any("INSERT INTO" in line for line in database)
    assert sqlite_dump(root / "state" / "anima.db") == database
    assert tree(system.home / "animas" / "sample") == others  # one anima's rebuild leaves the rest alone


def test_a_rebuild_from_a_snapshot_restores_the_same_memory(system: RunningSystem) -> None:
    root = system.home / "animas" / "tanaka"
    wait_for(lambda: settled(system), "memory-writer to apply everything stored")
    before = tree(root)
    database = sqlite_dump(root / "state" / "anima.db")
    assert (
        "tanaka: snapshot at stream sequence"
        in system.anima("replay", "snapshot", "--anima", "tanaka").stdout
    )

    remove_atomically(root)
    rebuilt = system.anima("replay", "rebuild", "--anima", "tanaka").stdout
    assert "tanaka: started from its snapshot at stream sequence" in rebuilt
    assert tree(root) == before
    assert sqlite_dump(root / "state" / "anima.db") == database

    full = system.anima("replay", "rebuild", "--anima", "tanaka", "--full").stdout
    assert "started from its snapshot" not in full
    assert tree(root) == before
    assert sqlite_dump(root / "state" / "anima.db") == database


def test_people_change_animas_through_the_api(system: RunningSystem) -> None:
    created = httpx.post(f"{system.url}/api/animas", json={"name": "ito", "template": "writer"}, timeout=30)
    assert created.status_code == 201, created.text
    assert "identity.md" in created.json()["paths"]
    again = httpx.post(f"{system.url}/api/animas", json={"name": "ito"}, timeout=30)
    assert again.status_code == 409 and "already exists" in again.json()["error"]
    bad = httpx.post(f"{system.url}/api/animas", json={"name": "A B"}, timeout=30)
    assert bad.status_code == 422 and "invalid anima name" in bad.json()["error"]

    identity = "# Identity: ito\n\n## Personality Traits\n- edited through the API\n"
    revised = httpx.put(f"{system.url}/api/animas/ito/identity", json={"content": identity}, timeout=30)
    assert revised.status_code == 200 and (system.home / "animas/ito/identity.md").read_text() == identity

    disabled = httpx.patch(f"{system.url}/api/animas/ito/status", json={"enabled": False}, timeout=30)
    assert disabled.status_code == 200
    wait_for(lambda: system.chat("ito", "hello?").status_code == 409, "the gateway to see ito disabled")
