"""The workspace tools deny by default: locations, symlinks, commands, environment, timeouts."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from animas_agent_runner.toolbox.errors import ToolDenied, ToolFailed
from animas_agent_runner.toolbox.paths import glob_regex
from animas_agent_runner.toolbox.workspace import MAX_WRITE_BYTES, Workspace
from animas_core.permissions import parse_permissions

PERMISSIONS = """\
# Permissions: tanaka
## Available Tools
Read, Write, Edit, Bash, Grep, Glob
## Readable Locations
- Under /workspace/project/
- Under /workspace/shared/
## Writable Locations
- Under /workspace/project/src/
## Invisible Locations
- /workspace/project/.env
- Under /workspace/project/secret/ (the lead's)
## Allowed Commands
python3 -c, ls, env, sleep, git status
## Disallowed Commands
git push (requires approval), rm -rf
"""


def tree(root: Path) -> dict[str, bytes]:
    """Every file under root with its content, links as their target: what "nothing changed" means."""
    found: dict[str, bytes] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames + dirnames:
            path = Path(dirpath, name)
            rel = str(path.relative_to(root))
            if path.is_symlink():
                found[rel] = os.readlink(path).encode()
            elif path.is_file():
                found[rel] = path.read_bytes()
    return found


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "tanaka").mkdir(parents=True)
    (root / "project" / "src").mkdir(parents=True)
    (root / "project" / "secret").mkdir()
    (root / "project" / "src" / "app.py").write_text("def main():\n    return 42\n")
    (root / "project" / "README.md").write_text("readme\n")
    (root / "project" / ".env").write_text("TOKEN=hunter2\n")
    (root / "project" / "secret" / "plan.md").write_text("the plan: return 42\n")
    (root / "other").mkdir()
    (root / "other" / "notes.md").write_text("not yours\n")
    return root


@pytest.fixture
def ws(root: Path) -> Workspace:
    return Workspace(root=root, anima="tanaka", permissions=parse_permissions(PERMISSIONS))


async def test_reads_numbered_lines_in_readable_locations(ws: Workspace) -> None:
    assert await ws.read_file("/workspace/project/src/app.py") == "     1\tdef main():\n     2\t    return 42"
    text = await ws.read_file("/workspace/project/src/app.py", offset=1, limit=1)
    assert text == "     2\t    return 42"
    first = await ws.read_file("/workspace/project/src/app.py", limit=1)
    assert "read on with offset=1" in first


async def test_invisible_paths_are_denied_whether_or_not_they_exist(ws: Workspace) -> None:
    with pytest.raises(ToolDenied, match=r"^/workspace/project/\.env is an invisible location$"):
        await ws.read_file("/workspace/project/.env")
    with pytest.raises(ToolDenied, match="invisible"):
        await ws.read_file("/workspace/project/secret/no-such-file.md")
    with pytest.raises(ToolDenied, match="invisible"):
        await ws.read_file("/workspace/project/src/../.env")
    with pytest.raises(ToolDenied, match="invisible"):
        await ws.write_file("/workspace/project/.env", "TOKEN=x")


async def test_reading_outside_readable_locations_is_denied(ws: Workspace, root: Path) -> None:
    with pytest.raises(
        ToolDenied, match=re.escape("reading outside the readable locations: /workspace/other/notes.md")
    ):
        await ws.read_file("/workspace/other/notes.md")
    with pytest.raises(ToolDenied, match="readable"):
        await ws.read_file("../other/notes.md")
    with pytest.raises(ToolDenied, match="readable"):
        await ws.read_file(str(root / "other" / "notes.md"))
    with pytest.raises(ToolDenied, match="readable"):
        await ws.read_file("/etc/passwd")


async def test_missing_file_fails_only_after_the_permission_check(ws: Workspace) -> None:
    with pytest.raises(ToolFailed, match="no such file"):
        await ws.read_file("/workspace/project/missing.md")
    with pytest.raises(ToolDenied):
        await ws.read_file("/workspace/other/missing.md")


async def test_writes_go_to_the_own_area_by_default(ws: Workspace, root: Path) -> None:
    assert await ws.write_file("notes/today.md", "hello") == "wrote 5 bytes to notes/today.md"
    assert (root / "tanaka" / "notes" / "today.md").read_text() == "hello"
    assert await ws.read_file("notes/today.md") == "     1\thello"
    await ws.write_file("/workspace/project/src/new/mod.py", "x = 1\n")
    assert (root / "project" / "src" / "new" / "mod.py").read_text() == "x = 1\n"
    assert not list(root.rglob("*.tmp"))


async def test_writing_outside_writable_locations_changes_nothing(ws: Workspace, root: Path) -> None:
    before = tree(root)
    for path in (
        "../other/notes.md",
        "/workspace/project/README.md",
        "../x.md",
        "/workspace/project/src/../y.md",
    ):
        with pytest.raises(ToolDenied, match="writing outside the writable locations"):
            await ws.write_file(path, "overwritten")
    with pytest.raises(ToolDenied):
        await ws.edit_file("/workspace/project/README.md", "readme", "changed")
    assert tree(root) == before


async def test_symlinks_inside_the_area_cannot_lead_out(ws: Workspace, root: Path) -> None:
    (root / "tanaka" / "out").symlink_to(root / "other")
    (root / "tanaka" / "notes.md").symlink_to(root / "other" / "notes.md")
    (root / "tanaka" / "env").symlink_to(root / "project" / ".env")
    before = tree(root)
    for path in ("out/notes.md", "out/new.md", "notes.md"):
        with pytest.raises(ToolDenied, match="writable"):
            await ws.write_file(path, "overwritten")
    with pytest.raises(ToolDenied, match="writable"):
        await ws.edit_file("notes.md", "not yours", "mine")
    with pytest.raises(ToolDenied, match="readable"):
        await ws.read_file("out/notes.md")
    with pytest.raises(ToolDenied, match="invisible"):
        await ws.read_file("env")
    assert tree(root) == before


async def test_hidden_paths_are_always_invisible(root: Path) -> None:
    everything = "## Readable Locations\n- Under /workspace/\n## Writable Locations\n- Under /workspace/"
    ws = Workspace(
        root=root, anima="tanaka", permissions=parse_permissions(everything), hidden=[root / "other"]
    )
    with pytest.raises(ToolDenied, match="invisible"):
        await ws.read_file("/workspace/other/notes.md")
    assert "other" not in await ws.glob("**/*", path="/workspace")


async def test_edit_replaces_exactly_one_occurrence_unless_told(ws: Workspace, root: Path) -> None:
    await ws.write_file("a.txt", "one two two")
    with pytest.raises(ToolFailed, match="2 times"):
        await ws.edit_file("a.txt", "two", "three")
    with pytest.raises(ToolFailed, match="not found"):
        await ws.edit_file("a.txt", "four", "five")
    assert await ws.edit_file("a.txt", "one", "1") == "edited a.txt: replaced 1 occurrence"
    await ws.edit_file("a.txt", "two", "2", replace_all=True)
    assert (root / "tanaka" / "a.txt").read_text() == "1 2 2"


async def test_special_files_are_not_read_and_empty_files_say_so(ws: Workspace, root: Path) -> None:
    os.mkfifo(root / "tanaka" / "pipe")
    with pytest.raises(ToolFailed, match="not a regular file"):
        await ws.read_file("pipe")
    assert await ws.grep("x") == "no matches"  # the walk skips the FIFO instead of blocking on it
    await ws.write_file("empty.txt", "")
    assert await ws.read_file("empty.txt") == "(empty file)"


async def test_writes_are_size_limited(ws: Workspace, root: Path) -> None:
    with pytest.raises(ToolFailed, match="limit"):
        await ws.write_file("big.txt", "x" * (MAX_WRITE_BYTES + 1))
    assert not (root / "tanaka" / "big.txt").exists()


async def test_grep_and_glob_skip_invisible_and_unreadable_files(ws: Workspace) -> None:
    found = await ws.grep("return 42", path="/workspace")
    assert found == "/workspace/project/src/app.py:2:    return 42"
    assert await ws.grep("hunter2", path="/workspace/project") == "no matches"
    assert await ws.grep("def", path="/workspace/project", glob="*.md") == "no matches"
    listed = (await ws.glob("**/*", path="/workspace")).splitlines()
    assert listed == ["/workspace/project/README.md", "/workspace/project/src/app.py"]
    assert await ws.glob("*.py", path="/workspace/project/src") == "/workspace/project/src/app.py"
    with pytest.raises(ToolDenied, match="invisible"):
        await ws.grep(".", path="/workspace/project/secret")
    with pytest.raises(ToolDenied):
        await ws.glob("*", path="/workspace/other")


def test_glob_patterns() -> None:
    assert glob_regex("**/*.py").fullmatch("a.py")
    assert glob_regex("**/*.py").fullmatch("a/b/c.py")
    assert not glob_regex("*.py").fullmatch("a/b.py")
    assert glob_regex("src/[!x]?.md").fullmatch("src/ab.md")


async def test_allowed_command_runs_in_the_area(ws: Workspace, root: Path) -> None:
    assert await ws.run_command('python3 -c "print(1)"') == "1\n\n[exit status 0]"
    (root / "tanaka" / "here.txt").write_text("")
    assert "here.txt" in await ws.run_command("ls")
    with pytest.raises(ToolFailed, match=r"\[exit status 3\]"):
        await ws.run_command('python3 -c "raise SystemExit(3)"')


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        ("git push", "disallowed by Disallowed Commands entry 'git push (requires approval)'"),
        ("git push origin main", "Disallowed Commands"),
        ("npm test", "command 'npm test' is not in Allowed Commands"),
        ("git status; rm -rf /tmp/x", "shell metacharacters are not allowed: ';'"),
        ("ls | python3", "shell metacharacters are not allowed: '|'"),
        ("ls $(id)", "shell metacharacters"),
        ("ls /workspace/project/.env", "invisible"),
    ],
)
async def test_forbidden_commands_are_denied(
    ws: Workspace, tmp_path: Path, command: str, reason: str
) -> None:
    victim = tmp_path / "x"
    victim.write_text("keep me")
    with pytest.raises(ToolDenied, match=re.escape(reason)):
        await ws.run_command(command.replace("/tmp/x", str(victim)))
    assert victim.read_text() == "keep me"


async def test_commands_never_see_the_service_environment(
    ws: Workspace, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANIMAWORKS_TEST_SECRET", "s3cr3t-value")
    output = await ws.run_command("env")
    assert "s3cr3t-value" not in output
    variables = {line.split("=", 1)[0] for line in output.splitlines() if "=" in line}
    assert variables <= {"PATH", "HOME", "LANG", "PWD", "SHLVL", "_"}
    assert f"HOME={root / 'tanaka'}" in output


async def test_a_command_past_its_timeout_is_killed(ws: Workspace) -> None:
    with pytest.raises(ToolFailed, match=re.escape("timed out after 0.3s and was killed")):
        await ws.run_command("sleep 30", timeout_s=0.3)


async def test_shell_grant_runs_a_shell_but_still_checks_each_command(root: Path) -> None:
    text = "## Allowed Commands\necho, ls\n## Disallowed Commands\nrm -rf\n## Shell\nallowed"
    ws = Workspace(root=root, anima="tanaka", permissions=parse_permissions(text))
    assert await ws.run_command("echo a > f.txt && ls") == "f.txt\n\n[exit status 0]"
    with pytest.raises(ToolDenied, match="rm -rf"):
        await ws.run_command("echo a; rm -rf f.txt")
    assert (root / "tanaka" / "f.txt").exists()
