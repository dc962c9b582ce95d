"""What may be written where: paths, memory types, protected files and grants (DESIGN §9)."""

from __future__ import annotations

import posixpath
import re

# The protected-file constants live in core (agent-runner checks them too); re-exported here.
from animas_core.permissions import NEVER_SELF_MODIFIABLE as NEVER_SELF_MODIFIABLE
from animas_core.permissions import PROTECTED_FILES as PROTECTED_FILES
from animas_core.permissions import parse_permissions

DERIVED_PREFIXES = ("activity_log/", "archive/", "state/anima.db", "state/conversations/")
"""Projections and the archive: written only by memory-writer's own mechanisms."""
MAX_FILE_BYTES = 1024 * 1024

KNOWLEDGE = "knowledge/"
PROCEDURES = "procedures/"
EPISODES = "episodes/"
ARCHIVE = "archive/"
ARCHIVABLE = (KNOWLEDGE, PROCEDURES, EPISODES, "skills/")
MARKABLE = (KNOWLEDGE, PROCEDURES, EPISODES)
WRITABLE_DIRS = (KNOWLEDGE, PROCEDURES, "skills/", "state/", "shortterm/", "transcripts/")
"""Where the write_memory_file tool may write (episodes only through appends)."""


class Rejected(ValueError):
    """An operation memory-writer refuses; the message is the reason sent back."""


def normalize(path: str) -> str:
    """A clean relative path, or :class:`Rejected` if it is absolute or climbs out.

    Symlinks are checked separately against the real directory (the adapter resolves them).
    """
    if not path or "\x00" in path or "\\" in path:
        raise Rejected(f"invalid path {path!r}")
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        raise Rejected(f"path {path!r} is absolute; memory paths are relative to the anima directory")
    clean = posixpath.normpath(path)
    if clean == "." or clean == ".." or clean.startswith("../"):
        raise Rejected(f"path {path!r} escapes the anima directory")
    return clean


def require_under(path: str, prefixes: tuple[str, ...], what: str) -> None:
    """Reject ``path`` unless it lies under one of ``prefixes``."""
    if not path.startswith(prefixes):
        raise Rejected(f"{what} must be under {', '.join(prefixes)}; got {path!r}")


def require_markdown(path: str) -> None:
    """Memory documents are Markdown."""
    if not path.endswith(".md"):
        raise Rejected(f"memory files are Markdown (.md); got {path!r}")


def require_size(content: str) -> None:
    """Refuse files over the size limit."""
    size = len(content.encode())
    if size > MAX_FILE_BYTES:
        raise Rejected(f"content is {size} bytes; the limit is {MAX_FILE_BYTES}")


def self_modifiable(permissions_md: str | None) -> frozenset[str]:
    """Protected files the anima may change itself: the ``## Self-Modifiable Files`` list.

    The parsing lives in :mod:`animas_core.permissions`, shared with agent-runner's checks.
    """
    return parse_permissions(permissions_md).self_modifiable


def check_agent_write(path: str, grants: frozenset[str]) -> None:
    """The write_memory_file rule for cycles: memory folders, or protected files with a grant."""
    if path in PROTECTED_FILES:
        if path in NEVER_SELF_MODIFIABLE:
            raise Rejected("identity.md changes only through consolidation or a person (the write boundary)")
        if path not in grants:
            raise Rejected(
                f"{path} is protected: permissions.md does not list it under Self-Modifiable Files"
            )
        return
    if path.startswith(DERIVED_PREFIXES):
        raise Rejected(f"{path} is maintained by memory-writer itself")
    require_under(path, WRITABLE_DIRS, "files written by a cycle")


def check_human_write(path: str) -> None:
    """A person may write any file except identity.md (its own event) and derived data."""
    if path == "identity.md":
        raise Rejected("identity.md is revised through identity.revised, not a plain file write")
    if path.startswith(DERIVED_PREFIXES):
        raise Rejected(f"{path} is maintained by memory-writer itself")
