"""Where an anima's workspace tools may look and write: permissions.md locations on real paths.

The model names paths as permissions.md does: ``/workspace/…`` is the workspace root, other
absolute paths are real paths, and relative paths are inside the anima's own area
``<root>/<anima>/``, which it may always read and write (DESIGN.md §8: nothing else unless
granted). Every check runs on the path as the operating system would resolve it
(``os.path.realpath``, so ``..`` and symlinks cannot lead out) and, for invisibility, on the path
as written too: a link named like an invisible file is as invisible as the file. Invisible beats
readable and writable, and an invisible location hides everything below it. Writable implies
readable, because editing needs reading. Grants are resolved at each check, not once, because
symlinks change while an anima works.

Denials never depend on whether the path exists, so a denial reveals nothing about invisible files.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from animas_agent_runner.toolbox.errors import ToolDenied, ToolFailed
from animas_contracts import validate_anima_name
from animas_core.permissions import Location, Permissions

WORKSPACE_PREFIX = "/workspace"
"""How permissions.md and the model name the workspace root, wherever it really is."""

_Grant = tuple[str, bool]
"""A resolved location: (real path, recursive)."""


def _under(path: str, grant: _Grant) -> bool:
    base, recursive = grant
    return path == base or (recursive and path.startswith(base.rstrip("/") + "/"))


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A regex for a relative glob: ``*`` and ``?`` stay in one segment, ``**/`` spans any depth."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and (end := pattern.find("]", i + 2)) != -1:
            body = pattern[i + 1 : end]
            out.append("[" + ("^" + body[1:] if body.startswith("!") else body).replace("\\", "\\\\") + "]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))


class PathPolicy:
    """The location rules of one anima in one workspace."""

    def __init__(
        self, *, root: Path, anima: str, permissions: Permissions, hidden: Sequence[Path] = ()
    ) -> None:
        self.root = Path(os.path.realpath(root))
        self.area = self.root / validate_anima_name(anima)
        self._permissions = permissions
        self._hidden = tuple(str(path) for path in hidden)

    def real(self, path: str) -> Path:
        """The absolute path a tool argument or permissions.md entry names (not yet resolved)."""
        text = path.strip() or "."
        if "\x00" in text:
            raise ToolFailed(f"invalid path {path!r}")
        if text == WORKSPACE_PREFIX or text.startswith(WORKSPACE_PREFIX + "/"):
            return self.root / text[len(WORKSPACE_PREFIX) :].lstrip("/")
        return Path(text) if os.path.isabs(text) else self.area / text

    def display(self, path: Path | str) -> str:
        """How a real path is shown to the model: inside the workspace as ``/workspace/…``."""
        text, root = str(path), str(self.root)
        if text == root or text.startswith(root.rstrip("/") + "/"):
            return WORKSPACE_PREFIX + text[len(root) :]
        return text

    def _grants(self, locations: Iterable[Location], *, recursive: bool = False) -> list[_Grant]:
        grants: list[_Grant] = []
        for location in locations:
            path = self.real(location.path)
            for form in {os.path.normpath(path), os.path.realpath(path)}:
                grants.append((form, location.recursive or recursive))
        return grants

    def _readable_grants(self) -> list[_Grant]:
        own = (str(self.area), True)
        return [own, *self._grants((*self._permissions.readable, *self._permissions.writable))]

    def is_invisible(self, path: Path) -> bool:
        """True if the path as written or as resolved lies in an invisible or hidden location."""
        grants = self._grants(self._permissions.invisible, recursive=True)
        grants += [(form, True) for hidden in self._hidden for form in self._forms(Path(hidden))]
        return any(_under(form, grant) for form in self._forms(path) for grant in grants)

    def invisible_roots(self) -> set[str]:
        """Every invisible location and hidden path, resolved: what a command sandbox covers."""
        named = [str(self.real(location.path)) for location in self._permissions.invisible]
        return {os.path.realpath(path) for path in (*named, *self._hidden)}

    def is_readable(self, real: str) -> bool:
        """True if a resolved path lies in a readable (or writable) location."""
        return any(_under(real, grant) for grant in self._readable_grants())

    def is_writable(self, real: str) -> bool:
        """True if a resolved path lies in a writable location (the own area included)."""
        grants = [(str(self.area), True), *self._grants(self._permissions.writable)]
        return any(_under(real, grant) for grant in grants)

    def may_enter(self, directory: str) -> bool:
        """True if a walk may descend: visible, and readable or above something readable."""
        if self.is_invisible(Path(directory)):
            return False
        real = os.path.realpath(directory)
        prefix = real.rstrip("/") + "/"
        return self.is_readable(real) or any(g.startswith(prefix) for g, _ in self._readable_grants())

    @staticmethod
    def _forms(path: Path) -> set[str]:
        return {os.path.normpath(path), os.path.realpath(path)}

    def check_read(self, path: str) -> Path:
        """The resolved path to read, or :class:`ToolDenied` naming the rule."""
        lexical = self.real(path)
        if self.is_invisible(lexical):
            raise ToolDenied(f"{path} is an invisible location")
        real = os.path.realpath(lexical)
        if not self.is_readable(real):
            raise ToolDenied(f"reading outside the readable locations: {path}")
        return Path(real)

    def check_walk(self, path: str) -> Path:
        """The resolved start of a search: readable, or a directory above readable locations."""
        lexical = self.real(path)
        if self.is_invisible(lexical):
            raise ToolDenied(f"{path} is an invisible location")
        if not self.may_enter(str(lexical)):
            raise ToolDenied(f"searching outside the readable locations: {path}")
        return Path(os.path.realpath(lexical))

    def check_write(self, path: str) -> Path:
        """The resolved path to write; the link itself and its target must both be writable."""
        lexical = self.real(path)
        in_parent = Path(os.path.realpath(lexical.parent)) / lexical.name
        if self.is_invisible(lexical) or self.is_invisible(in_parent):
            raise ToolDenied(f"{path} is an invisible location")
        real = os.path.realpath(lexical)
        if not (self.is_writable(str(in_parent)) and self.is_writable(real)):
            raise ToolDenied(f"writing outside the writable locations: {path}")
        return Path(real)

    def check_arguments(self, arguments: Iterable[str]) -> None:
        """Refuse command arguments naming invisible paths (``cat /project/.env``, ``--f=.env``)."""
        for argument in arguments:
            for candidate in {argument, argument.partition("=")[2]} - {""}:
                if "\x00" not in candidate and self.is_invisible(self.real(candidate)):
                    raise ToolDenied(f"{candidate} is an invisible location")

    def make_parents(self, target: Path) -> None:
        """Create the missing directories above ``target``, each inside a writable location."""
        missing: list[Path] = []
        parent = target.parent
        while not parent.exists():
            if not self.is_writable(str(parent)) or self.is_invisible(parent):
                raise ToolFailed(f"directory {self.display(parent)} does not exist")
            missing.append(parent)
            parent = parent.parent
        if not parent.is_dir():
            raise ToolFailed(f"{self.display(parent)} is not a directory")
        for directory in reversed(missing):
            directory.mkdir(exist_ok=True)

    def visible_files(self, start: Path) -> Iterator[Path]:
        """Readable, visible regular files under ``start``, sorted; directory links not followed.

        Only regular files: reading a FIFO or a device would block a thread or never end.
        """
        if start.is_file():
            if not self.is_invisible(start) and self.is_readable(os.path.realpath(start)):
                yield start
            return
        for dirpath, dirnames, filenames in os.walk(start):
            dirnames[:] = sorted(d for d in dirnames if self.may_enter(os.path.join(dirpath, d)))
            for name in sorted(filenames):
                path = Path(dirpath, name)
                visible = not self.is_invisible(path) and self.is_readable(os.path.realpath(path))
                if visible and path.is_file():
                    yield path
