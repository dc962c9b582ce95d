"""Workspace file and command tools (seed names Read, Write, Edit, Grep, Glob, Bash).

They are not the anima's own: each must be granted under Available Tools, and every path and
command is checked by :class:`~animas_agent_runner.toolbox.workspace.Workspace`.
"""

from __future__ import annotations

from animas_agent_runner.toolbox.context import ToolContext
from animas_agent_runner.toolbox.errors import ToolDenied
from animas_agent_runner.toolbox.registry import Args, Tool
from animas_agent_runner.toolbox.workspace import Workspace

MAX_COMMAND_TIMEOUT_S = 300.0


class ReadFileArgs(Args, frozen=True, kw_only=True):
    """Arguments of read_file."""

    path: str
    offset: int = 0
    limit: int = 2000


class WriteFileArgs(Args, frozen=True, kw_only=True):
    """Arguments of write_file."""

    path: str
    content: str


class EditFileArgs(Args, frozen=True, kw_only=True):
    """Arguments of edit_file."""

    path: str
    old: str
    new: str
    replace_all: bool = False


class GrepArgs(Args, frozen=True, kw_only=True):
    """Arguments of grep."""

    pattern: str
    path: str = "."
    glob: str | None = None


class GlobArgs(Args, frozen=True, kw_only=True):
    """Arguments of glob."""

    pattern: str
    path: str = "."


class RunCommandArgs(Args, frozen=True, kw_only=True):
    """Arguments of run_command."""

    command: str
    timeout_s: float = 60.0


def _workspace(ctx: ToolContext) -> Workspace:
    if ctx.workspace is None:
        raise ToolDenied("no workspace is configured for this system")
    return ctx.workspace


async def read_file(ctx: ToolContext, args: ReadFileArgs, ordinal: int) -> str:
    """The read_file tool (see its description below)."""
    return await _workspace(ctx).read_file(args.path, offset=args.offset, limit=args.limit)


async def write_file(ctx: ToolContext, args: WriteFileArgs, ordinal: int) -> str:
    """The write_file tool (see its description below)."""
    return await _workspace(ctx).write_file(args.path, args.content)


async def edit_file(ctx: ToolContext, args: EditFileArgs, ordinal: int) -> str:
    """The edit_file tool (see its description below)."""
    return await _workspace(ctx).edit_file(args.path, args.old, args.new, replace_all=args.replace_all)


async def grep(ctx: ToolContext, args: GrepArgs, ordinal: int) -> str:
    """The grep tool (see its description below)."""
    return await _workspace(ctx).grep(args.pattern, args.path, glob=args.glob)


async def glob(ctx: ToolContext, args: GlobArgs, ordinal: int) -> str:
    """The glob tool (see its description below)."""
    return await _workspace(ctx).glob(args.pattern, args.path)


async def run_command(ctx: ToolContext, args: RunCommandArgs, ordinal: int) -> str:
    """The run_command tool (see its description below)."""
    timeout = max(1.0, min(args.timeout_s, MAX_COMMAND_TIMEOUT_S))
    return await _workspace(ctx).run_command(args.command, timeout_s=timeout)


WORKSPACE_TOOLS = (
    Tool("read_file", "Read a file in the workspace (numbered lines).", ReadFileArgs, read_file, own=False),
    Tool("write_file", "Write a whole file in the workspace.", WriteFileArgs, write_file, own=False),
    Tool("edit_file", "Replace text in a workspace file.", EditFileArgs, edit_file, own=False),
    Tool("grep", "Search workspace files with a regular expression.", GrepArgs, grep, own=False),
    Tool("glob", "List workspace files matching a glob pattern.", GlobArgs, glob, own=False),
    Tool(
        "run_command",
        "Run an allowed command in your workspace folder (no shell unless granted). It runs in a "
        "sandbox that sees only your granted locations, with no network unless granted.",
        RunCommandArgs,
        run_command,
        own=False,
    ),
)
