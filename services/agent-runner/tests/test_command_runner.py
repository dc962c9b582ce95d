"""The sandboxed command runner with real bwrap: resource limits, refusals, cancellation."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import uuid
from pathlib import Path
from typing import Any

import pytest

from animas_agent_runner.toolbox.commands import SandboxedCommands
from animas_agent_runner.toolbox.errors import ToolDenied, ToolFailed
from animas_agent_runner.toolbox.sandbox import Bind, SandboxLayout
from animas_agent_runner.toolbox.workspace import Workspace
from animas_core.permissions import parse_permissions
from animas_core.sandbox_config import SandboxConfig

ALLOWED = "## Allowed Commands\npython3 -c, dd, nosuchprogram-here\n"


def workspace(tmp_path: Path, **sandbox: Any) -> Workspace:
    root = Path(os.path.realpath(tmp_path)) / "ws"
    (root / "tanaka").mkdir(parents=True, exist_ok=True)
    return Workspace(
        root=root, anima="tanaka", permissions=parse_permissions(ALLOWED), sandbox=SandboxConfig(**sandbox)
    )


async def test_the_cpu_limit_kills_a_busy_command_and_says_so(tmp_path: Path) -> None:
    ws = workspace(tmp_path, cpu_s=1)
    with pytest.raises(
        ToolFailed, match=r"\[exit status 152: killed by SIGXCPU, the CPU time limit of 1s\]$"
    ):
        await ws.run_command('python3 -c "any(iter(int, 1))"', timeout_s=120)


async def test_the_memory_limit_bounds_the_address_space(tmp_path: Path) -> None:
    ws = workspace(tmp_path, memory_mb=200)
    with pytest.raises(ToolFailed, match="MemoryError"):
        await ws.run_command('python3 -c "bytearray(300 * 1024 * 1024)"')
    assert await ws.run_command('python3 -c "bytearray(50 * 1024 * 1024)"') == "\n[exit status 0]"


async def test_the_file_size_limit_stops_a_runaway_file(tmp_path: Path) -> None:
    ws = workspace(tmp_path, file_size_mb=1)
    with pytest.raises(ToolFailed, match=r"killed by SIGXFSZ, the file size limit of 1 MB\]$"):
        await ws.run_command("dd if=/dev/zero of=big.bin bs=1M count=2")
    assert (tmp_path / "ws" / "tanaka" / "big.bin").stat().st_size == 1024 * 1024


async def test_tmp_is_private_and_bounded(tmp_path: Path) -> None:
    name = f"/tmp/sandbox-private-{uuid.uuid4().hex}"
    ws = workspace(tmp_path, tmp_mb=1)
    assert (await ws.run_command(f"dd if=/dev/zero of={name} bs=1K count=10")).endswith("[exit status 0]")
    assert not os.path.exists(name)
    with pytest.raises(ToolFailed, match="No space left on device"):
        await ws.run_command(f"dd if=/dev/zero of={name} bs=1M count=2")


async def test_a_sandbox_that_does_not_start_refuses_the_command_with_its_reason(tmp_path: Path) -> None:
    broken = tmp_path / "bwrap"
    broken.write_text(
        "#!/bin/sh\necho 'bwrap: creating new namespace failed: Operation not permitted' >&2\nexit 1\n"
    )
    broken.chmod(0o755)
    ws = workspace(tmp_path, bwrap_path=str(broken))
    with pytest.raises(ToolDenied) as refused:
        await ws.run_command("python3 -c \"open('ran', 'w')\"")
    assert str(refused.value) == (
        "commands are refused because no command sandbox can be set up: "
        "bwrap: creating new namespace failed: Operation not permitted"
    )
    assert not (tmp_path / "ws" / "tanaka" / "ran").exists()


async def test_a_missing_program_is_named(tmp_path: Path) -> None:
    with pytest.raises(ToolFailed, match=r"^command not found: nosuchprogram-here$"):
        await workspace(tmp_path).run_command("nosuchprogram-here --version")


async def test_a_cancelled_cycle_leaves_no_command_running(tmp_path: Path) -> None:
    marker = f"sandbox-cancel-{uuid.uuid4().hex}"
    ws = workspace(tmp_path)
    task = asyncio.create_task(ws.run_command(f'python3 -c "any(iter(int, 1))" {marker}', timeout_s=300))
    for _ in range(400):  # wait until it runs (the sandbox takes a moment to start)
        if _running(marker):
            break
        await asyncio.sleep(0.05)
    assert _running(marker), "the command never started"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(200):
        if not _running(marker):
            break
        await asyncio.sleep(0.05)
    assert not _running(marker)


def _running(marker: str) -> bool:
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                return True
        except OSError:
            continue
    return False


async def test_a_mount_that_fails_inside_the_sandbox_refuses_the_command(tmp_path: Path) -> None:
    area = tmp_path / "area"
    area.mkdir()
    layout = SandboxLayout(
        area=str(area),
        env=(("PATH", "/usr/bin:/bin"),),
        binds=(Bind("/usr"), Bind(str(area), writable=True), Bind(str(tmp_path / "gone"))),
        links=(("/bin", "usr/bin"), ("/lib", "usr/lib"), ("/lib64", "usr/lib64")),
    )
    runner = SandboxedCommands(SandboxConfig())
    with pytest.raises(ToolDenied, match=r"no command sandbox can be set up: bwrap: Can't find source path"):
        await runner.run(["touch", "ran"], layout, 30)
    assert not (area / "ran").exists()
    assert await runner.run(["touch", "ran"], dataclasses.replace(layout, binds=layout.binds[:2]), 30)
    assert (area / "ran").exists()


async def test_a_grant_of_the_whole_file_system_keeps_the_sandbox_its_own(tmp_path: Path) -> None:
    root = Path(os.path.realpath(tmp_path)) / "ws"
    (root / "tanaka").mkdir(parents=True)
    (root / "hidden").mkdir()
    (root / "hidden" / "key").write_text("k")
    permissions = parse_permissions("## Allowed Commands\nls, touch\n## Readable Locations\n- Under /\n")
    ws = Workspace(root=root, anima="tanaka", permissions=permissions, hidden=[root / "hidden"])
    assert (await ws.run_command("ls /proc")).split()[:2] == ["1", "2"]  # its own pid namespace
    listed = await ws.run_command(f"ls -R {root}")
    assert f"{root}/hidden:" in listed and "key" not in listed  # masked: an empty directory
    with pytest.raises(ToolFailed, match="Read-only file system"):
        await ws.run_command(f"touch /etc/sandbox-{uuid.uuid4().hex}")
    with contextlib.suppress(ToolFailed):  # /tmp is the sandbox's own: nothing lands on the host's
        await ws.run_command(f"touch {root}/outside")
    assert not (root / "outside").exists()
    assert await ws.run_command("touch inside") == "\n[exit status 0]"
