"""Issue #12 item 3: anima commands run in a real bubblewrap sandbox, whatever their arguments say.

Everything here runs real ``bwrap`` and real processes: the escapes a hostile tester found with an
allowed ``git diff``, the limits (wall time, output), the network, cron commands, and the refusal
when no sandbox can be set up.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest

from animas_agent_runner.cycle.autonomy import Autonomy, AutonomyPorts
from animas_agent_runner.cycle.runner import CycleRunner
from animas_agent_runner.cycle.wiring import CyclePorts, CycleSettings
from animas_agent_runner.toolbox.errors import ToolDenied, ToolFailed
from animas_agent_runner.toolbox.workspace import Workspace
from animas_contracts import CronDue, CronExecuted, CronOutcome, Event
from animas_core.permissions import parse_permissions
from animas_core.sandbox_config import SandboxConfig

HOST_PASSWD_LINE = "root:x:0:0:"
NOW = datetime(2026, 11, 26, 10, 30, tzinfo=UTC)


@pytest.fixture(scope="module", autouse=True)
def real_tools() -> None:
    """These tests mean nothing without the real programs: fail loudly, never skip."""
    for program in ("bwrap", "git", "prlimit"):
        assert shutil.which(program), f"{program} is not installed; the sandbox tests need it"
    assert HOST_PASSWD_LINE in Path("/etc/passwd").read_text(), "the host /etc/passwd has no root line"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = Path(os.path.realpath(tmp_path)) / "ws"
    (root / "tanaka").mkdir(parents=True)
    (root / "project" / "secret").mkdir(parents=True)
    (root / "project" / "README.md").write_text("readme\n")
    (root / "project" / ".env").write_text("TOKEN=hunter2\n")
    (root / "project" / "secret" / "plan.md").write_text("hunter2 is the plan\n")
    return root


def workspace(root: Path, permissions: str, **sandbox: Any) -> Workspace:
    return Workspace(
        root=root,
        anima="tanaka",
        permissions=parse_permissions(permissions),
        sandbox=SandboxConfig(**sandbox),
    )


async def outcome(ws: Workspace, command: str, timeout_s: float = 60.0) -> str:
    """The text the anima gets back, success or failure alike."""
    try:
        return await ws.run_command(command, timeout_s=timeout_s)
    except (ToolFailed, ToolDenied) as exc:
        return f"{type(exc).__name__}: {exc}"


ENGINEER = """\
## Allowed Commands
git diff, git status
## Readable Locations
- Under /workspace/project/
"""


async def test_git_diff_cannot_show_etc_passwd(root: Path) -> None:
    ws = workspace(root, ENGINEER)
    with pytest.raises(ToolFailed) as failed:
        await ws.run_command("git diff --no-index /dev/null /etc/passwd")
    assert HOST_PASSWD_LINE not in str(failed.value)
    assert "Could not access '/etc/passwd'" in str(failed.value)


@pytest.mark.parametrize("where", ["host-directory", "tmp"])
async def test_git_diff_output_cannot_create_a_file_outside_the_workspace(root: Path, where: str) -> None:
    area = root / "tanaka"
    (area / "a.txt").write_text("one\n")
    (area / "b.txt").write_text("two\n")
    outside = root.parent / "outside"
    outside.mkdir()
    target = outside / "leak.diff" if where == "host-directory" else Path(f"/tmp/leak-{uuid.uuid4().hex}")
    ws = workspace(root, ENGINEER)
    await outcome(ws, f"git diff --no-index --output={target} a.txt b.txt")
    assert not target.exists()
    assert list(outside.iterdir()) == []
    # The same option inside the anima's own area works: the sandbox holds the line, git still runs.
    await outcome(ws, "git diff --no-index --output=inside.diff a.txt b.txt")
    assert "+two" in (area / "inside.diff").read_text()


async def test_a_readable_location_is_readable_but_not_writable(root: Path) -> None:
    permissions = "## Allowed Commands\ncat, touch, rm\n## Readable Locations\n- Under /workspace/project/\n"
    ws = workspace(root, permissions)
    project = root / "project"
    assert await ws.run_command(f"cat {project}/README.md") == "readme\n\n[exit status 0]"
    touched = await outcome(ws, f"touch {project}/new.txt")
    assert "Read-only file system" in touched
    removed = await outcome(ws, f"rm {project}/README.md")
    assert "Read-only file system" in removed
    assert not (project / "new.txt").exists()
    assert (project / "README.md").read_text() == "readme\n"


async def test_an_invisible_location_under_a_granted_one_is_not_visible(root: Path) -> None:
    permissions = (
        "## Allowed Commands\ngrep, ls\n## Readable Locations\n- Under /workspace/project/\n"
        "## Invisible Locations\n- /workspace/project/.env\n- Under /workspace/project/secret/\n"
    )
    ws = workspace(root, permissions)
    project = root / "project"
    # Arguments naming invisible paths are refused before anything runs (the first line) ...
    with pytest.raises(ToolDenied, match="invisible"):
        await ws.run_command(f"grep -r hunter2 {project}/secret")
    # ... and a command that reaches them indirectly finds them empty inside the sandbox.
    searched = await outcome(ws, f"grep -r hunter2 {project}")
    assert "hunter2" not in searched and searched.endswith("[exit status 2]")
    listed = await outcome(ws, f"ls -aR {project}")
    assert "plan.md" not in listed and "README.md" in listed


async def test_a_command_that_loops_forever_is_killed_at_its_wall_time(root: Path) -> None:
    marker = f"sandbox-loop-{uuid.uuid4().hex}"
    ws = workspace(root, "## Allowed Commands\npython3 -c\n", wall_time_s=1.0)
    # It forks, and the child leaves the process group for a session of its own: both must die.
    forks = "__import__('os').fork() or __import__('os').setsid()"
    looping = f'python3 -c "[{forks}, any(iter(int, 1))]" {marker}'
    with pytest.raises(ToolFailed, match=r"^timed out after 1s and was killed"):
        await ws.run_command(looping, timeout_s=30)
    assert await _gone(marker), "a process of the killed command is still running"


async def _gone(marker: str) -> bool:
    """True once no process has ``marker`` in its command line (a killed namespace takes a moment)."""
    for _ in range(200):
        if not any(marker.encode() in _cmdline(pid) for pid in os.listdir("/proc") if pid.isdigit()):
            return True
        await asyncio.sleep(0.05)
    return False


def _cmdline(pid: str) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


async def test_a_hundred_megabytes_of_output_are_cut_and_the_anima_is_told(root: Path) -> None:
    ws = workspace(root, "## Allowed Commands\nhead\n", output_bytes=4096)
    result = await ws.run_command("head -c 100000000 /dev/zero")
    assert "…(output cut: 4096 of 100000000 bytes shown)" in result
    assert len(result) < 4096 + 200
    assert result.endswith("[exit status 0]")


@pytest.fixture
async def listener() -> AsyncIterator[tuple[int, list[int]]]:
    """A TCP server on the host's loopback that counts the connections it gets."""
    accepted: list[int] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        writer.close()

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield port, accepted
    server.close()
    await server.wait_closed()


CONNECT = "python3 -c \"__import__('socket').create_connection(('127.0.0.1', {port}), 5)\""


async def test_no_network_unless_granted(root: Path, listener: tuple[int, list[int]]) -> None:
    port, accepted = listener
    closed = workspace(root, "## Allowed Commands\npython3 -c\n")
    refused = await outcome(closed, CONNECT.format(port=port))
    assert refused.startswith("ToolFailed") and "ConnectionRefusedError" in refused
    assert accepted == []

    granted = workspace(root, "## Allowed Commands\npython3 -c\n## Network\nallowed\n")
    assert (await granted.run_command(CONNECT.format(port=port))).endswith("[exit status 0]")
    assert accepted == [1]


async def test_without_bwrap_commands_are_refused_with_the_reason(root: Path) -> None:
    ws = workspace(root, "## Allowed Commands\ntouch\n", bwrap_path="/nonexistent/bwrap")
    with pytest.raises(ToolDenied) as refused:
        await ws.run_command("touch ran.txt")
    assert str(refused.value) == (
        "commands are refused because no command sandbox can be set up: "
        "bubblewrap (config sandbox.bwrap_path) '/nonexistent/bwrap' was not found"
    )
    assert not (root / "tanaka" / "ran.txt").exists()


async def test_the_explicit_opt_out_runs_commands_as_before(root: Path) -> None:
    ws = workspace(
        root, "## Allowed Commands\ntouch, cat\n", mode="none-unsafe", bwrap_path="/nonexistent/bwrap"
    )
    assert await ws.run_command("touch ran.txt") == "\n[exit status 0]"
    assert (root / "tanaka" / "ran.txt").exists()
    assert HOST_PASSWD_LINE in await ws.run_command("cat /etc/passwd")  # unconfined, as it was


class CronFiles:
    """memory-writer's answers for one anima: its permissions.md and cron.md."""

    def __init__(self, files: dict[str, str]) -> None:
        self.files = files

    async def read(self, anima: str, path: str) -> str | None:
        return self.files.get(path)


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []

    async def publish(self, event: Event) -> None:
        self.events.append(event)


@pytest.fixture
def own_tools(tmp_path: Path) -> Iterator[Path]:
    """A directory of the operator's own tools, to be put on the configured command PATH."""
    tools = tmp_path / "tools"
    tools.mkdir()
    script = tools / "disk-report"
    script.write_text("#!/bin/sh\necho report from the configured PATH\n")
    script.chmod(0o755)
    yield tools


@pytest.mark.parametrize(
    ("command", "outcome_", "says"),
    [
        ("git diff --no-index /dev/null /etc/passwd", CronOutcome.FAILED, "Could not access '/etc/passwd'"),
        ("disk-report", CronOutcome.RAN, "report from the configured PATH"),
    ],
)
async def test_cron_commands_run_in_the_sandbox_on_the_configured_path(
    tmp_path: Path, own_tools: Path, command: str, outcome_: CronOutcome, says: str
) -> None:
    config = tmp_path / "config.json"
    config.write_text('{"sandbox": {"cpu_s": 30}}')
    files = CronFiles(
        {
            "permissions.md": "## Allowed Commands\ngit diff, disk-report\n",
            "cron.md": f"## Check (every 30 minutes)\ncommand: {command}\n",
        }
    )
    publisher = Recorder()
    runner = CycleRunner(
        cast(CyclePorts, cast(Any, _Ports(memory=files))),
        CycleSettings(
            config_path=config,
            max_deliveries=3,
            body_inline_limit=16384,
            workspace=tmp_path / "ws",
            command_path=f"{own_tools}:/usr/bin:/bin",
        ),
    )
    ports = AutonomyPorts(
        memory=cast(Any, files), publisher=publisher, activity=cast(Any, None), ledger=cast(Any, None)
    )
    autonomy = Autonomy(runner, ports, tmp_path / "ws")
    due = CronDue(anima="tanaka", correlation_id="c", producer="scheduler", task="Check", fire_at=NOW, ts=NOW)
    await autonomy.cron(due, cast(Any, None))
    [executed] = [e for e in publisher.events if isinstance(e, CronExecuted)]
    assert executed.outcome is outcome_
    assert says in f"{executed.error} {executed.command_output}"
    assert HOST_PASSWD_LINE not in f"{executed.error} {executed.command_output}"


class _Ports:
    """The one port a cron command needs from the cycle runner: the anima's files."""

    # A cron command calls no external tool and sends nothing to the background.
    http = None
    background = None
    publisher = None
    config = None  # the runner reads its settings' config_path

    def __init__(self, memory: CronFiles) -> None:
        self.memory = memory
