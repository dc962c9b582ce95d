"""What a command's sandbox shows (from permissions.md and the file system) and the bwrap argv."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from animas_agent_runner.toolbox.paths import PathPolicy
from animas_agent_runner.toolbox.sandbox import (
    Bind,
    Mask,
    SandboxLayout,
    bwrap_argv,
    limit_argv,
    sandbox_layout,
)
from animas_core.permissions import parse_permissions
from animas_core.sandbox_config import SandboxConfig

PATH = "/usr/local/bin:/usr/bin:/bin"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = Path(os.path.realpath(tmp_path)) / "ws"
    for folder in ("tanaka", "project/src", "project/docs", "project/secret", "shared", "other"):
        (root / folder).mkdir(parents=True)
    (root / "project" / ".env").write_text("TOKEN=x\n")
    (root / "shared" / "notes.md").write_text("notes\n")
    return root


def layout_of(root: Path, text: str, *, hidden: tuple[Path, ...] = (), **kwargs: object) -> SandboxLayout:
    permissions = parse_permissions(text)
    paths = PathPolicy(root=root, anima="tanaka", permissions=permissions, hidden=hidden)
    command_path = str(kwargs.pop("command_path", PATH))
    config = SandboxConfig.model_validate(kwargs)
    return sandbox_layout(paths, permissions, command_path=command_path, config=config)


def grants(layout: SandboxLayout, root: Path) -> list[tuple[str, bool]]:
    """The binds inside the workspace root, as (relative path, writable)."""
    prefix = f"{root}/"
    return [(b.path.removeprefix(prefix), b.writable) for b in layout.binds if b.path.startswith(prefix)]


def test_nothing_granted_shows_only_the_own_area_and_the_system(root: Path) -> None:
    layout = layout_of(root, "")
    assert grants(layout, root) == [("tanaka", True)]
    assert Bind("/usr") in layout.binds
    assert not any(b.path.startswith("/etc/passwd") or b.path == "/etc" for b in layout.binds)
    assert ("/bin", "usr/bin") in layout.links or not os.path.islink("/bin")
    assert layout.env == (("PATH", PATH), ("HOME", f"{root}/tanaka"), ("LANG", "C.UTF-8"))
    assert layout.masks == () and layout.network is False


def test_grants_are_bound_parents_first_and_writable_wins(root: Path) -> None:
    text = (
        "## Readable Locations\n- Under /workspace/project/\n- Under /workspace/project/src/\n"
        "- /workspace/shared/notes.md\n- /workspace/other\n- Under /workspace/missing/\n"
        "## Writable Locations\n- Under /workspace/project/docs/\n- Under /workspace/shared/\n"
    )
    assert grants(layout_of(root, text), root) == [
        ("shared", True),  # notes.md (readable) is inside a writable location: not bound again
        ("tanaka", True),
        ("project", False),
        ("project/docs", True),  # writable inside a read-only parent: bound after it
    ]
    # An exact path is bound only when it is a file: "/workspace/other" would show all below it.
    # A readable location inside a readable one adds nothing; a missing one cannot be bound.


def test_invisible_locations_are_masked_where_a_grant_shows_them(root: Path) -> None:
    text = (
        "## Readable Locations\n- Under /workspace/project/\n- Under /workspace/project/secret/inner/\n"
        "## Invisible Locations\n- /workspace/project/.env\n- Under /workspace/project/secret/\n"
        "- Under /workspace/other/\n"
    )
    (root / "project" / "secret" / "inner").mkdir()
    layout = layout_of(root, text, hidden=(root / "shared",))
    assert layout.masks == (
        Mask(f"{root}/project/.env", directory=False),
        Mask(f"{root}/project/secret", directory=True),
    )
    # A grant inside an invisible location is not mounted; invisible places no grant shows are
    # not touched (nothing would show them anyway).
    assert grants(layout, root) == [("tanaka", True), ("project", False)]


def test_hidden_paths_are_masked_like_invisible_ones(root: Path) -> None:
    layout = layout_of(root, "## Readable Locations\n- Under /workspace/\n", hidden=(root / "other",))
    assert Mask(f"{root}/other", directory=True) in layout.masks


def test_a_symlinked_grant_is_bound_at_its_real_path(root: Path) -> None:
    (root / "link").symlink_to(root / "shared")
    layout = layout_of(root, "## Readable Locations\n- Under /workspace/link/\n")
    assert ("shared", False) in grants(layout, root)


def test_network_files_only_with_a_network_grant(root: Path) -> None:
    closed = layout_of(root, "")
    opened = layout_of(root, "## Network\nallowed\n")
    assert opened.network and not closed.network
    network_files = [p for p in ("/etc/resolv.conf", "/etc/hosts") if os.path.exists(p)]
    assert network_files, "this machine has neither /etc/resolv.conf nor /etc/hosts"
    shown = {b.path for b in opened.binds} | {path for path, _ in opened.links}
    assert set(network_files) <= shown
    assert not set(network_files) & ({b.path for b in closed.binds} | {path for path, _ in closed.links})


def test_the_command_path_is_shown_with_a_virtualenv_and_its_base_python(tmp_path: Path, root: Path) -> None:
    venv, base = tmp_path / "venv", tmp_path / "python" / "3.11"
    (venv / "bin").mkdir(parents=True)
    (base / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text(f"home = {base / 'bin'}\nversion = 3.11\n")
    tools = tmp_path / "tools"
    tools.mkdir()
    layout = layout_of(root, "", command_path=f"{venv / 'bin'}:{tools}:relative:/nonexistent:/usr/bin")
    paths = {b.path: b.writable for b in layout.binds}
    assert paths[str(venv)] is False and paths[str(base)] is False and paths[str(tools)] is False
    assert str(venv / "bin") not in paths  # inside the venv, already shown
    assert "relative" not in paths and "/nonexistent" not in paths


def test_extra_read_only_paths_and_system_links(tmp_path: Path, root: Path) -> None:
    (tmp_path / "opt").mkdir()
    (tmp_path / "tool").symlink_to(tmp_path / "opt")
    layout = layout_of(root, "", extra_read_only_paths=[str(tmp_path / "opt"), str(tmp_path / "tool")])
    assert Bind(str(tmp_path / "opt")) in layout.binds
    assert (str(tmp_path / "tool"), str(tmp_path / "opt")) in layout.links


def test_a_grant_of_the_whole_file_system_replaces_the_system_binds_and_links(root: Path) -> None:
    layout = layout_of(root, "## Readable Locations\n- Under /\n")
    assert layout.binds == (Bind("/"), Bind(f"{root}/tanaka", writable=True))
    assert layout.links == ()  # the host's own /bin link is there already
    argv = bwrap_argv(layout, ["true"], bwrap="bwrap", tmp_bytes=1, status_fd=3)
    # Bound after them, "/" would cover the sandbox's own /proc and /tmp.
    assert argv.index("--ro-bind") < argv.index("--proc") < argv.index("--bind")


def test_relative_extra_paths_are_a_config_error() -> None:
    with pytest.raises(ValueError, match="must be absolute"):
        SandboxConfig.model_validate({"extra_read_only_paths": ["opt/tool"]})
    with pytest.raises(ValueError, match="mode"):
        SandboxConfig.model_validate({"mode": "none"})


LAYOUT = SandboxLayout(
    area="/ws/tanaka",
    env=(("PATH", "/usr/bin"), ("HOME", "/ws/tanaka")),
    binds=(
        Bind("/usr"),
        Bind("/ws/project"),
        Bind("/ws/tanaka", writable=True),
        Bind("/etc/x", source="/r/x"),
    ),
    links=(("/bin", "usr/bin"),),
    masks=(Mask("/ws/project/secret", directory=True), Mask("/ws/project/.env", directory=False)),
)


def _pairs(argv: list[str], option: str, arity: int = 2) -> list[list[str]]:
    return [argv[i + 1 : i + 1 + arity] for i, arg in enumerate(argv) if arg == option]


def test_bwrap_argv_isolates_everything_and_orders_mounts() -> None:
    argv = bwrap_argv(LAYOUT, ["git", "status"], bwrap="/usr/bin/bwrap", tmp_bytes=1024, status_fd=7)
    assert argv[0] == "/usr/bin/bwrap" and argv[-3:] == ["--", "git", "status"]
    for flag in ("--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--new-session"):
        assert flag in argv
    assert "--share-net" not in argv
    assert _pairs(argv, "--cap-drop", 1) == [["ALL"]]
    assert _pairs(argv, "--uid", 1) == [["1000"]]
    binds = [["/usr", "/usr"], ["/ws/project", "/ws/project"], ["/r/x", "/etc/x"]]
    assert _pairs(argv, "--ro-bind") == [*binds, ["/dev/null", "/ws/project/.env"]]
    assert _pairs(argv, "--bind") == [["/ws/tanaka", "/ws/tanaka"]]
    assert _pairs(argv, "--tmpfs", 1) == [["/tmp"], ["/ws/project/secret"]]
    assert _pairs(argv, "--remount-ro", 1) == [["/ws/project/secret"], ["/"]]
    assert _pairs(argv, "--size", 1) == [["1024"]]
    assert _pairs(argv, "--symlink") == [["usr/bin", "/bin"]]
    assert _pairs(argv, "--setenv") == [["PATH", "/usr/bin"], ["HOME", "/ws/tanaka"]]
    assert _pairs(argv, "--json-status-fd", 1) == [["7"]]
    assert _pairs(argv, "--chdir", 1) == [["/ws/tanaka"]]
    assert "--clearenv" in argv
    # /tmp first (grants may lie under it), masks after every bind, the root read-only last.
    assert argv.index("/tmp") < argv.index("--ro-bind") < argv.index("/ws/project/secret")
    assert argv.index("/ws/project/secret") < argv.index("/") < argv.index("--")


def test_bwrap_argv_shares_the_network_only_when_granted() -> None:
    import dataclasses

    opened = dataclasses.replace(LAYOUT, network=True)
    assert "--share-net" in bwrap_argv(opened, ["true"], bwrap="bwrap", tmp_bytes=1, status_fd=3)


def test_limit_argv_sets_cpu_memory_file_size_and_no_core_files() -> None:
    config = SandboxConfig(cpu_s=5, memory_mb=256, file_size_mb=2)
    assert limit_argv("/usr/bin/prlimit", config) == [
        "/usr/bin/prlimit",
        "--cpu=5:6",
        f"--as={256 * 1024 * 1024}",
        f"--fsize={2 * 1024 * 1024}",
        "--core=0",
        "--",
    ]
