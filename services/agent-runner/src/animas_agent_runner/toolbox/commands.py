"""Running an already-checked command: in the bubblewrap sandbox, or (opted out) directly.

Both runners bound what a command costs the service: the output the anima gets is cut at
``output_bytes`` (the rest is read and counted, never held, and the cut is said), and at its wall
time the command and every process it started are killed. The sandboxed runner also sets the CPU,
memory and file-size limits (:func:`~animas_agent_runner.toolbox.sandbox.limit_argv`). Where no
sandbox can be set up, bwrap or prlimit missing or bwrap failing before the command starts, the
command is refused (:class:`ToolDenied`) with the reason; nothing falls back to running it
unconfined unless config.json says ``"sandbox": {"mode": "none-unsafe"}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
from asyncio.subprocess import DEVNULL, PIPE, STDOUT
from collections.abc import Sequence
from typing import Protocol

from animas_agent_runner.toolbox.errors import ToolDenied, ToolFailed
from animas_agent_runner.toolbox.sandbox import MEGABYTE, SandboxLayout, bwrap_argv, limit_argv
from animas_core.sandbox_config import SandboxConfig

REFUSED = "commands are refused because no command sandbox can be set up"


class CommandRunner(Protocol):
    """Runs one checked command in its layout; the output and exit status, or an error."""

    async def run(self, command: Sequence[str], layout: SandboxLayout, timeout_s: float) -> str:
        """The output and ``[exit status N]``; :class:`ToolFailed` if it failed or timed out."""
        ...


def command_runner(config: SandboxConfig) -> CommandRunner:
    """The runner config.json asks for: sandboxed unless explicitly opted out."""
    return UnconfinedCommands(config) if config.mode == "none-unsafe" else SandboxedCommands(config)


class _Output:
    """A command's combined output, keeping the first ``limit`` bytes so a flood costs nothing."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.kept = bytearray()
        self.total = 0

    async def drain(self, stream: asyncio.StreamReader | None) -> None:
        while stream is not None and (chunk := await stream.read(65536)):
            self.total += len(chunk)
            self.kept += chunk[: max(0, self.limit - len(self.kept))]

    def text(self) -> str:
        text = self.kept.decode("utf-8", errors="replace")
        if self.total > len(self.kept):
            text += f"\n…(output cut: {len(self.kept)} of {self.total} bytes shown)"
        return text


def _signal_note(status: int, config: SandboxConfig) -> str:
    """Why a command died, when a signal killed it (bwrap reports 128 + the signal)."""
    number = -status if status < 0 else status - 128 if status > 128 else 0
    if number == signal.SIGXCPU:
        return f": killed by SIGXCPU, the CPU time limit of {config.cpu_s}s"
    if number == signal.SIGXFSZ:
        return f": killed by SIGXFSZ, the file size limit of {config.file_size_mb} MB"
    with contextlib.suppress(ValueError):
        return f": killed by {signal.Signals(number).name}" if number else ""
    return ""


async def _finish(process: asyncio.subprocess.Process, output: _Output, timeout_s: float) -> None:
    try:
        await asyncio.wait_for(asyncio.gather(output.drain(process.stdout), process.wait()), timeout_s)
    except TimeoutError:
        await _kill(process)
        raise ToolFailed(f"timed out after {timeout_s:g}s and was killed\n{output.text()}") from None
    except BaseException:  # the cycle was cancelled: leave nothing running
        await _kill(process)
        raise


def _result(process: asyncio.subprocess.Process, output: _Output, config: SandboxConfig) -> str:
    status = process.returncode if process.returncode is not None else -1
    result = f"{output.text()}\n[exit status {status}{_signal_note(status, config)}]"
    if status != 0:
        raise ToolFailed(result)
    return result


async def _kill(process: asyncio.subprocess.Process) -> None:
    """Kill the command's whole process group (its children too) and reap it.

    In the sandbox this kills bwrap, and with it (``--die-with-parent``, then the end of its pid
    namespace) every process the command started, whatever session or group it moved to.
    """
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    await process.wait()


def _read_available(fd: int) -> bytes:
    os.set_blocking(fd, False)
    data = b""
    with contextlib.suppress(BlockingIOError):
        while chunk := os.read(fd, 65536):
            data += chunk
    return data


def _sandbox_started(status: bytes, returncode: int | None, output: _Output) -> bool:
    """True unless bwrap failed to set the sandbox up, so the command never ran.

    Its JSON status (one document a line) has a ``child-pid`` record once the namespaces exist;
    a failure after that (a mount, say) is bwrap's own "bwrap: …" message and status 1 before
    the command could print anything. A command that prints such a line itself only mislabels
    its own failure.
    """
    records = []
    for line in status.decode(errors="replace").splitlines():
        with contextlib.suppress(json.JSONDecodeError):
            records.append(json.loads(line))
    if not any(isinstance(record, dict) and "child-pid" in record for record in records):
        return False
    own_message = output.kept.startswith(b"bwrap: ") and not output.kept.startswith(b"bwrap: execvp ")
    return not (returncode == 1 and own_message)


SYSTEM_PROGRAM_PATH = "/usr/local/bin:/usr/bin:/bin"
"""Where bwrap and prlimit are looked for after the service's own PATH (which may be minimal)."""


def _program(name: str, what: str) -> str:
    if os.sep in name:
        found = name if os.access(name, os.X_OK) else None
    else:
        found = shutil.which(name) or shutil.which(name, path=SYSTEM_PROGRAM_PATH)
    if found is None:
        raise ToolDenied(f"{REFUSED}: {what} {name!r} was not found")
    return found


class SandboxedCommands:
    """Commands in a bubblewrap sandbox under prlimit's resource limits."""

    def __init__(self, config: SandboxConfig) -> None:
        self._config = config

    async def run(self, command: Sequence[str], layout: SandboxLayout, timeout_s: float) -> str:
        """See :class:`CommandRunner`; :class:`ToolDenied` when no sandbox can be set up."""
        config = self._config
        bwrap = _program(config.bwrap_path, "bubblewrap (config sandbox.bwrap_path)")
        limits = limit_argv(_program("prlimit", "util-linux's prlimit"), config)
        status_read, status_write = os.pipe()
        sandbox = bwrap_argv(
            layout, command, bwrap=bwrap, tmp_bytes=config.tmp_mb * MEGABYTE, status_fd=status_write
        )
        output = _Output(config.output_bytes)
        try:
            try:
                # start_new_session: its own process group, so a kill reaches everything it started.
                process = await asyncio.create_subprocess_exec(
                    *limits,
                    *sandbox,
                    env={},
                    start_new_session=True,
                    pass_fds=(status_write,),
                    stdin=DEVNULL,
                    stdout=PIPE,
                    stderr=STDOUT,
                )
            finally:
                os.close(status_write)
            await _finish(process, output, min(timeout_s, config.wall_time_s))
            started = _sandbox_started(_read_available(status_read), process.returncode, output)
        finally:
            os.close(status_read)
        if not started:
            reason = output.text().strip() or f"bwrap ended with status {process.returncode}"
            raise ToolDenied(f"{REFUSED}: {reason}")
        return _result(process, output, config)


class UnconfinedCommands:
    """The explicit opt-out (``"mode": "none-unsafe"``): the command runs as the service's user.

    It still gets only PATH, HOME and LANG (the service's environment holds credentials) and the
    output and wall-time limits; nothing else confines it.
    """

    def __init__(self, config: SandboxConfig) -> None:
        self._config = config

    async def run(self, command: Sequence[str], layout: SandboxLayout, timeout_s: float) -> str:
        """See :class:`CommandRunner`."""
        try:
            process = await asyncio.create_subprocess_exec(
                *command,
                cwd=layout.area,
                env=dict(layout.env),
                start_new_session=True,
                stdin=DEVNULL,
                stdout=PIPE,
                stderr=STDOUT,
            )
        except FileNotFoundError as exc:
            raise ToolFailed(f"command not found: {command[0]}") from exc
        except PermissionError as exc:
            raise ToolFailed(f"cannot execute {command[0]}") from exc
        output = _Output(self._config.output_bytes)
        await _finish(process, output, min(timeout_s, self._config.wall_time_s))
        return _result(process, output, self._config)
