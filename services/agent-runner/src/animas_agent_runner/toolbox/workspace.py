"""The workspace tools: files and commands in ``ANIMAWORKS_WORKSPACE``, checked before acting.

Every call checks :class:`~animas_agent_runner.toolbox.paths.PathPolicy` or the command rules of
:class:`~animas_core.permissions.Permissions` first, and a denied call touches nothing on disk
(DESIGN.md §8 "Default deny", §9 "Workspaces"). Whether a tool may be called at all
(``Permissions.tool_allowed``) is the caller's check; this class enforces locations and commands.

Commands are checked first (Allowed and Disallowed Commands, shell metacharacters without a Shell
grant, arguments naming invisible paths), then run without a shell (unless permissions.md grants
one) in the anima's own area, with an environment of PATH (the configured command PATH), HOME and
LANG only: the service's environment holds credentials, and a command the anima runs must never
see them. The checks cannot contain what an allowed program does with its own arguments, so the
boundary is the command sandbox (:mod:`~animas_agent_runner.toolbox.sandbox`): a command sees only
what permissions.md grants, whatever it is told to open.
Blocking file work runs in a thread so one anima's grep never stalls another's cycle.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shlex
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from animas_agent_runner.toolbox.commands import command_runner
from animas_agent_runner.toolbox.errors import ToolDenied, ToolFailed
from animas_agent_runner.toolbox.paths import PathPolicy, glob_regex
from animas_agent_runner.toolbox.sandbox import sandbox_layout
from animas_core.permissions import Permissions, command_segments
from animas_core.sandbox_config import SandboxConfig

MAX_WRITE_BYTES = 1024 * 1024
MAX_LINE_CHARS = 2000
MAX_READ_CHARS = 200_000
MAX_MATCHES = 200
MAX_GLOB_RESULTS = 500
MAX_WALK_FILES = 20_000
MAX_GREP_FILE_BYTES = 2 * 1024 * 1024
MAX_TIMEOUT_S = 600.0
DEFAULT_COMMAND_PATH = "/usr/local/bin:/usr/bin:/bin"


def _is_binary(handle: BinaryIO) -> bool:
    binary = b"\x00" in handle.read(8192)
    handle.seek(0)
    return binary


def _lines(handle: BinaryIO, *, mark: bool = True) -> Iterator[str]:
    """Decoded lines without their newline, each cut at MAX_LINE_CHARS (the rest is skipped)."""
    cap = MAX_LINE_CHARS * 4
    while raw := handle.readline(cap):
        cut, rest = False, raw
        while not rest.endswith(b"\n") and (rest := handle.readline(cap)):
            cut = True  # a very long line: keep its start, skip the rest without holding it
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if cut or len(line) > MAX_LINE_CHARS:
            line = line[:MAX_LINE_CHARS] + (" …(line cut)" if mark else "")
        yield line


class Workspace:
    """One anima's file and command tools over the workspace directory ``root``."""

    def __init__(
        self,
        *,
        root: Path,
        anima: str,
        permissions: Permissions,
        hidden: Sequence[Path] = (),
        command_path: str = DEFAULT_COMMAND_PATH,
        sandbox: SandboxConfig | None = None,
    ) -> None:
        self._paths = PathPolicy(root=root, anima=anima, permissions=permissions, hidden=hidden)
        self._permissions = permissions
        self._command_path = command_path
        self._sandbox = sandbox if sandbox is not None else SandboxConfig()
        self._commands = command_runner(self._sandbox)

    async def read_file(self, path: str, offset: int = 0, limit: int = 2000) -> str:
        """Lines ``offset+1`` … ``offset+limit``, numbered, cut at MAX_READ_CHARS with a note."""
        target = self._paths.check_read(path)
        if offset < 0 or limit < 1:
            raise ToolFailed("offset must be >= 0 and limit >= 1")
        return await asyncio.to_thread(self._read, target, path, offset, limit)

    def _read(self, target: Path, shown: str, offset: int, limit: int) -> str:
        if not target.exists():
            raise ToolFailed(f"no such file: {shown}")
        if target.is_dir():
            raise ToolFailed(f"{shown} is a directory; use glob to list it")
        if not target.is_file():  # a FIFO or device would block the thread or never end
            raise ToolFailed(f"{shown} is not a regular file")
        out: list[str] = []
        size = 0
        with target.open("rb") as handle:
            if _is_binary(handle):
                raise ToolFailed(f"{shown} is a binary file")
            for number, line in enumerate(_lines(handle), start=1):
                if number <= offset:
                    continue
                if len(out) == limit or size + len(line) > MAX_READ_CHARS:
                    out.append(f"…(more lines follow; read on with offset={number - 1})")
                    break
                out.append(f"{number:>6}\t{line}")
                size += len(line) + 8
        if not out:
            return "(empty file)" if offset == 0 else f"(no lines after line {offset}; the file is shorter)"
        return "\n".join(out)

    async def write_file(self, path: str, content: str) -> str:
        """Replace the file's content atomically (temp file + rename); creates parent directories."""
        target = self._paths.check_write(path)
        try:
            data = content.encode()
        except UnicodeEncodeError as exc:
            raise ToolFailed(f"content is not valid text: {exc.reason}") from exc
        if len(data) > MAX_WRITE_BYTES:
            raise ToolFailed(f"content is {len(data)} bytes; the limit is {MAX_WRITE_BYTES}")
        await asyncio.to_thread(self._write, target, path, data)
        return f"wrote {len(data)} bytes to {path}"

    def _write(self, target: Path, shown: str, data: bytes) -> None:
        if target.is_dir():
            raise ToolFailed(f"{shown} is a directory")
        self._paths.make_parents(target)
        mode = target.stat().st_mode & 0o777 if target.exists() else 0o644
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temp, mode)
            os.replace(temp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise

    async def edit_file(self, path: str, old: str, new: str, replace_all: bool = False) -> str:
        """Replace ``old`` by ``new``; ``old`` must occur exactly once unless ``replace_all``."""
        target = self._paths.check_write(path)
        if not old:
            raise ToolFailed("old must not be empty; use write_file to create a file")
        if old == new:
            raise ToolFailed("old and new are the same; nothing to change")
        return await asyncio.to_thread(self._edit, target, path, old, new, replace_all)

    def _edit(self, target: Path, shown: str, old: str, new: str, replace_all: bool) -> str:
        if not target.is_file():
            raise ToolFailed(f"no such file: {shown}")
        if target.stat().st_size > MAX_WRITE_BYTES:
            raise ToolFailed(f"{shown} is larger than {MAX_WRITE_BYTES} bytes; it cannot be edited")
        try:
            text = target.read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ToolFailed(f"{shown} is not UTF-8 text") from exc
        count = text.count(old)
        if count == 0:
            raise ToolFailed(f"old text not found in {shown}")
        if count > 1 and not replace_all:
            raise ToolFailed(f"old text occurs {count} times in {shown}; add context or set replace_all")
        data = text.replace(old, new).encode()
        if len(data) > MAX_WRITE_BYTES:
            raise ToolFailed(f"the result would be {len(data)} bytes; the limit is {MAX_WRITE_BYTES}")
        self._write(target, shown, data)
        return f"edited {shown}: replaced {count} occurrence{'s' if count > 1 else ''}"

    async def grep(self, pattern: str, path: str = ".", glob: str | None = None) -> str:
        """``path:line:text`` for lines matching the regex in readable, visible files."""
        start = self._paths.check_walk(path)
        try:
            regex = re.compile(pattern)
        except re.error as exc:
            raise ToolFailed(f"invalid regular expression {pattern!r}: {exc}") from exc
        names = glob_regex(glob) if glob else None
        return await asyncio.to_thread(self._grep, start, path, regex, names, glob or "")

    def _grep(
        self, start: Path, shown: str, regex: re.Pattern[str], names: re.Pattern[str] | None, glob: str
    ) -> str:
        if not start.exists():
            raise ToolFailed(f"no such file or directory: {shown}")
        found: list[str] = []
        for index, file in enumerate(self._paths.visible_files(start)):
            if index >= MAX_WALK_FILES:
                found.append(f"…(stopped after {MAX_WALK_FILES} files; narrow the path)")
                break
            relative = file.relative_to(start).as_posix() if file != start else file.name
            if names and not names.fullmatch(relative if "/" in glob else file.name):
                continue
            if file.stat().st_size > MAX_GREP_FILE_BYTES:
                continue
            with file.open("rb") as handle:
                if _is_binary(handle):
                    continue
                for number, line in enumerate(_lines(handle, mark=False), start=1):
                    if regex.search(line):
                        found.append(f"{self._paths.display(file)}:{number}:{line[:300]}")
                        if len(found) >= MAX_MATCHES:
                            return "\n".join([*found, f"…(stopped after {MAX_MATCHES} matches)"])
        return "\n".join(found) if found else "no matches"

    async def glob(self, pattern: str, path: str = ".") -> str:
        """Readable, visible files whose path relative to ``path`` matches ``pattern``."""
        start = self._paths.check_walk(path)
        if pattern.startswith("/") or ".." in pattern.split("/"):
            raise ToolFailed("the pattern is relative to path; pass another path= to look elsewhere")
        return await asyncio.to_thread(self._glob, start, path, glob_regex(pattern))

    def _glob(self, start: Path, shown: str, regex: re.Pattern[str]) -> str:
        if not start.is_dir():
            raise ToolFailed(f"no such directory: {shown}")
        found: list[str] = []
        for index, file in enumerate(self._paths.visible_files(start)):
            if index >= MAX_WALK_FILES or len(found) >= MAX_GLOB_RESULTS:
                found.append("…(more files not listed; narrow the pattern or path)")
                break
            if regex.fullmatch(file.relative_to(start).as_posix()):
                found.append(self._paths.display(file))
        return "\n".join(found) if found else "no files match"

    async def run_command(self, command: str, timeout_s: float = 60.0) -> str:
        """Run an allowed command in the anima's area; the output and exit status, bounded.

        A non-zero exit status raises :class:`ToolFailed` carrying the same text.
        """
        reason = self._permissions.command_line_denied_reason(command)
        if reason is not None:
            raise ToolDenied(reason)
        argvs = command_segments(command) if self._permissions.shell else [shlex.split(command)]
        for argv in argvs:
            self._paths.check_arguments(argv[1:])
        if not 0 < timeout_s <= MAX_TIMEOUT_S:
            raise ToolFailed(f"timeout_s must be between 0 and {MAX_TIMEOUT_S:g}")
        area = self._paths.area
        try:
            area.mkdir(exist_ok=True)
        except OSError as exc:
            raise ToolFailed(f"the workspace is not available: {exc.strerror}") from exc
        program = argvs[0][0]
        on_path = "/" in program or shutil.which(program, path=self._command_path) is not None
        if not self._permissions.shell and not on_path:
            raise ToolFailed(f"command not found: {program}")
        layout = sandbox_layout(
            self._paths, self._permissions, command_path=self._command_path, config=self._sandbox
        )
        argv = ["/bin/sh", "-c", command] if self._permissions.shell else argvs[0]
        return await self._commands.run(argv, layout, timeout_s)
