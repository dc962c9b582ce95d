"""What a command's sandbox shows, and the bubblewrap argv that builds it (issue #12 item 3).

The allow list cannot contain a program's own arguments (``git diff --no-index /dev/null
/etc/passwd``, ``git diff --output=/elsewhere``), so every command runs in a bubblewrap sandbox
that has only what the anima's permissions.md grants. Host paths keep their names inside, so a
path the anima knows means the same thing in a command as in its file tools:

- its own area read-write (also the working directory and HOME);
- Writable Locations read-write, Readable Locations read-only. "Under /dir/" shows the tree;
  an exact path only when it is a file (binding a directory would grant all below it). A
  readable location inside a writable one stays writable, as in :class:`PathPolicy`;
- Invisible Locations and the service's hidden paths, wherever a grant above would show them:
  covered by an empty read-only directory, or an empty file; a grant inside one is not mounted;
- read-only for programs to run: ``/usr``, ``/bin``, ``/sbin``, ``/lib*``, the command PATH
  (a virtualenv on it with the Python it was made from), ``extra_read_only_paths``, and from
  ``/etc`` only what programs need to start: the dynamic linker's cache and configuration,
  alternatives, the time zone, CA certificates, nsswitch, services, protocols; resolv.conf,
  hosts, host.conf and gai.conf only with network. Nothing else there: no ``passwd`` (it names
  the machine's accounts and their homes; a command must fail to read it, not get a stand-in),
  no ``group``, ``shadow``, ``hostname``, ``gitconfig``. Programs that look the user up by id
  (``whoami``, ``ssh``) say there is no such user; git works (a commit needs ``user.name`` and
  ``user.email`` in the repository's config);
- a fresh ``/proc`` (its own pid namespace: only its own processes), a minimal ``/dev``, a
  private in-memory ``/tmp`` of ``tmp_mb``, and nothing else: the rest of ``/`` is read-only.

It runs as user 1000 in its own user namespace (the service's user outside, no capabilities
inside, no nested namespaces) with its own pid, ipc, uts, cgroup and network namespaces; without
a network grant that network has only its own loopback, so even the host's 127.0.0.1 is out of
reach. ``--die-with-parent`` and the pid namespace mean killing bwrap kills every process of the
command; ``--new-session`` keeps it off the service's terminal.

:func:`sandbox_layout` reads the file system (what exists, links, directories) each time, since
grants are resolved per command; :func:`bwrap_argv` and :func:`limit_argv` are pure.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from animas_agent_runner.toolbox.paths import PathPolicy
from animas_core.permissions import Location, Permissions
from animas_core.sandbox_config import SandboxConfig

SANDBOX_UID = 1000
SANDBOX_HOSTNAME = "sandbox"
SYSTEM_PATHS = (
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/alternatives",
    "/etc/localtime",
    "/etc/ssl/certs",
    "/etc/ssl/openssl.cnf",
    "/etc/nsswitch.conf",
    "/etc/services",
    "/etc/protocols",
)
"""Read-only in every sandbox (those that exist): programs, libraries, what they need from /etc."""
NETWORK_PATHS = ("/etc/resolv.conf", "/etc/hosts", "/etc/host.conf", "/etc/gai.conf")
"""Read-only only with a network grant: name resolution."""
MEGABYTE = 1024 * 1024


@dataclasses.dataclass(frozen=True)
class Bind:
    """A host path shown at the same place (``source`` when a system link points elsewhere)."""

    path: str
    writable: bool = False
    source: str | None = None


@dataclasses.dataclass(frozen=True)
class Mask:
    """An invisible path covered by something empty: a directory or a file."""

    path: str
    directory: bool


@dataclasses.dataclass(frozen=True)
class SandboxLayout:
    """Everything one command's sandbox shows; parents always come before their children."""

    area: str
    """The anima's own folder: read-write, the working directory and HOME."""
    env: tuple[tuple[str, str], ...]
    binds: tuple[Bind, ...] = ()
    links: tuple[tuple[str, str], ...] = ()
    """(path, target) symbolic links made inside, e.g. ``/bin`` -> ``usr/bin``."""
    masks: tuple[Mask, ...] = ()
    network: bool = False


def _under(path: str, base: str) -> bool:
    return path == base or path.startswith(base.rstrip("/") + "/")


def _depth(path: str) -> int:
    return len(Path(path).parts)


def _grant_binds(paths: PathPolicy, locations: Iterable[Location], writable: bool) -> list[Bind]:
    binds = []
    for location in locations:
        lexical = paths.real(location.path)
        real = os.path.realpath(lexical)
        if not os.path.exists(real) or (os.path.isdir(real) and not location.recursive):
            continue
        binds.append(Bind(real, writable))
    return binds


def _venv_paths(directory: str) -> list[str]:
    """A virtualenv's root and its base Python's prefix, when ``directory`` is the venv's bin."""
    config = Path(directory).parent / "pyvenv.cfg"
    if not config.is_file():
        return []
    found = [str(config.parent)]
    for line in config.read_text(errors="replace").splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "home" and value.strip():
            found.append(str(Path(value.strip()).parent))
    return found


def _system_entries(permissions: Permissions, command_path: str, config: SandboxConfig) -> list[str]:
    entries = [*SYSTEM_PATHS, *(NETWORK_PATHS if permissions.network else ()), *config.extra_read_only_paths]
    for directory in command_path.split(":"):
        if os.path.isabs(directory) and os.path.isdir(directory):
            entries += [os.path.normpath(directory), *_venv_paths(directory)]
    return entries


def _system_binds(entries: Sequence[str]) -> tuple[list[Bind], list[tuple[str, str]]]:
    """Binds for real directories and files; a link to another entry is recreated as a link."""
    binds: list[Bind] = []
    links: list[tuple[str, str]] = []
    for entry in dict.fromkeys(entries):
        if not os.path.lexists(entry):
            continue
        real = os.path.realpath(entry)
        if real == entry:
            binds.append(Bind(entry))
        elif any(_under(real, other) for other in entries if other != entry and not os.path.islink(other)):
            links.append((entry, os.readlink(entry)))
        elif os.path.exists(real):
            binds.append(Bind(entry, source=real))
    return binds, links


def _minimal(binds: Iterable[Bind]) -> list[Bind]:
    """Parents first; drop a bind a kept parent already shows as well (writable wins)."""
    kept: list[Bind] = []
    for bind in sorted(binds, key=lambda b: (_depth(b.path), not b.writable, b.path)):
        ancestors = [k for k in kept if _under(bind.path, k.path)]
        if any(k.writable or not bind.writable for k in ancestors):
            continue
        kept.append(bind)
    return kept


def sandbox_layout(
    paths: PathPolicy, permissions: Permissions, *, command_path: str, config: SandboxConfig
) -> SandboxLayout:
    """What a command of this anima sees, under its permissions as the file system is now."""
    area = str(paths.area)
    grants = [
        Bind(area, writable=True),
        *_grant_binds(paths, permissions.writable, writable=True),
        *_grant_binds(paths, permissions.readable, writable=False),
    ]
    system, links = _system_binds(_system_entries(permissions, command_path, config))
    visible = [b for b in (*grants, *system) if not paths.is_invisible(Path(b.path))]
    binds = _minimal(visible)
    # A bind above a link (a grant of "/") already shows the host's own link there.
    links = [link for link in links if not any(_under(link[0], bind.path) for bind in binds)]
    masks = [
        Mask(path, os.path.isdir(path))
        for path in sorted(paths.invisible_roots(), key=lambda p: (_depth(p), p))
        if os.path.exists(path) and any(_under(path, bind.path) for bind in binds)
    ]
    env = (("PATH", command_path), ("HOME", area), ("LANG", "C.UTF-8"))
    return SandboxLayout(
        area=area,
        env=env,
        binds=tuple(binds),
        links=tuple(links),
        masks=tuple(masks),
        network=permissions.network,
    )


def _bind_args(binds: Iterable[Bind]) -> list[str]:
    return [
        arg
        for bind in binds
        for arg in ("--bind" if bind.writable else "--ro-bind", bind.source or bind.path, bind.path)
    ]


def bwrap_argv(
    layout: SandboxLayout,
    command: Sequence[str],
    *,
    bwrap: str,
    tmp_bytes: int,
    status_fd: int,
) -> list[str]:
    """The bwrap command line that runs ``command`` in ``layout``.

    ``status_fd`` receives bwrap's JSON status: a ``child-pid`` record once its namespaces exist,
    which tells an early setup failure from the command's own failure.
    """
    uid = str(SANDBOX_UID)
    argv = [bwrap, "--unshare-all", "--unshare-user", "--disable-userns", "--uid", uid, "--gid", uid]
    argv += ["--cap-drop", "ALL", "--die-with-parent", "--new-session", "--hostname", SANDBOX_HOSTNAME]
    if layout.network:
        argv.append("--share-net")
    # A grant of "/" itself goes first: bound later it would cover the sandbox's own /proc and /tmp.
    whole = [bind for bind in layout.binds if bind.path == "/"]
    argv += _bind_args(whole)
    argv += ["--proc", "/proc", "--dev", "/dev", "--size", str(tmp_bytes), "--tmpfs", "/tmp"]
    for path, target in layout.links:
        argv += ["--symlink", target, path]
    argv += _bind_args(bind for bind in layout.binds if bind.path != "/")
    for mask in layout.masks:
        if mask.directory:
            argv += ["--tmpfs", mask.path, "--remount-ro", mask.path]
        else:
            argv += ["--ro-bind", "/dev/null", mask.path]
    argv += ["--remount-ro", "/", "--chdir", layout.area, "--clearenv"]
    for name, value in layout.env:
        argv += ["--setenv", name, value]
    return [*argv, "--json-status-fd", str(status_fd), "--", *command]


def limit_argv(prlimit: str, config: SandboxConfig) -> list[str]:
    """``prlimit`` setting the resource limits that bwrap and every process it starts inherit.

    The CPU limit is soft: the command gets SIGXCPU (reported as such) and a second more before
    SIGKILL. No core files: a crash must not write the command's memory into the workspace.
    """
    return [
        prlimit,
        f"--cpu={config.cpu_s}:{config.cpu_s + 1}",
        f"--as={config.memory_mb * MEGABYTE}",
        f"--fsize={config.file_size_mb * MEGABYTE}",
        "--core=0",
        "--",
    ]
