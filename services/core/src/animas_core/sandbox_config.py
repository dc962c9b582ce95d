"""The ``sandbox`` section of config.json: how anima commands are confined (DESIGN §8 "Default deny")."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


SandboxMode = Literal["bubblewrap", "none-unsafe"]
"""``bubblewrap`` confines every command; ``none-unsafe`` is the explicit, deliberately loud opt-out."""


def _check_absolute(paths: list[str]) -> list[str]:
    for path in paths:
        if not path.startswith("/"):
            raise ValueError(f"must be absolute paths, got {path!r}")
    return paths


class SandboxConfig(_Section):
    """How anima commands (``run_command``, cron ``command:``) are confined (DESIGN §8 "Default deny").

    ``bubblewrap`` (the default) runs each command in a bubblewrap sandbox that sees only what the
    anima's permissions.md grants, with no network unless its ``## Network`` section says
    ``allowed``; where ``bwrap`` is missing or cannot start, commands are refused with the reason.
    ``none-unsafe`` runs commands directly as the service's user, seeing the whole file system and
    network, with only the allow list, the output cap and the wall time between an anima and the
    machine: for a machine that cannot run bubblewrap and only trusted animas.

    The limits apply to every command, in both modes where they can: ``wall_time_s`` caps the
    timeout a tool call or cron task asks for; ``output_bytes`` is how much output the anima gets
    (the rest is counted, discarded and reported as cut). With bubblewrap also: ``cpu_s``
    (RLIMIT_CPU, per process), ``memory_mb`` (RLIMIT_AS, address space per process),
    ``file_size_mb`` (RLIMIT_FSIZE, the largest file a command may write) and ``tmp_mb`` (the
    private ``/tmp``, which lives in memory).
    """

    mode: SandboxMode = "bubblewrap"
    bwrap_path: str = Field(default="bwrap", min_length=1)
    """The bubblewrap program: a name looked up on the service's PATH, or an absolute path."""
    wall_time_s: float = Field(default=300.0, gt=0)
    cpu_s: int = Field(default=120, gt=0)
    memory_mb: int = Field(default=4096, gt=0)
    file_size_mb: int = Field(default=1024, gt=0)
    tmp_mb: int = Field(default=256, gt=0)
    output_bytes: int = Field(default=64 * 1024, gt=0)
    extra_read_only_paths: Annotated[list[str], AfterValidator(_check_absolute)] = Field(default_factory=list)
    """More host paths every sandbox sees read-only (e.g. ``/opt/toolchain``), besides the system
    directories and the command PATH."""
