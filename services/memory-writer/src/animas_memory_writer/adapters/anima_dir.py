"""One anima's directory on disk: resolved paths, atomic writes, moves, and the files in it."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from animas_memory_writer.memory.rules import Rejected, normalize

SKIP_IN_SCAN = ("activity_log/", "archive/", "state/anima.db", "state/conversations/")
"""Not hand-edited content: projections (activity log, conversation memory), the archive, the database."""


def digest(data: bytes) -> str:
    """The sha256 of some bytes, as ``sha256:<hex>``."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


class AnimaDir:
    """Paths inside one anima's directory; nothing resolves outside it, symlinks included."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def resolve(self, rel: str) -> tuple[str, Path]:
        """The clean relative path and its real location, or :class:`Rejected` if it escapes."""
        clean = normalize(rel)
        base = self.root.resolve()
        target = (self.root / clean).resolve()
        if target != base and base not in target.parents:
            raise Rejected(f"path {rel!r} resolves outside the anima directory (a symlink?)")
        return clean, target

    def read_bytes(self, rel: str) -> bytes | None:
        """The file's bytes, or None when it does not exist."""
        _, path = self.resolve(rel)
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            return None

    def read_text(self, rel: str) -> str | None:
        """The file's text, or None when it does not exist."""
        data = self.read_bytes(rel)
        return None if data is None else data.decode("utf-8", errors="replace")

    def write(self, rel: str, data: bytes) -> Path:
        """Write atomically: a temp file in the same folder, fsync, rename, fsync the folder."""
        _, path = self.resolve(rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _fsync_dir(path.parent)
        return path

    def move(self, src: str, dst: str) -> None:
        """Rename a file inside the directory (both ends checked)."""
        _, source = self.resolve(src)
        _, target = self.resolve(dst)
        if not source.is_file():
            raise Rejected(f"{src} does not exist")
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)
        _fsync_dir(target.parent)
        _fsync_dir(source.parent)

    def delete(self, rel: str) -> None:
        """Remove a file if it exists."""
        _, path = self.resolve(rel)
        path.unlink(missing_ok=True)

    def exists(self, rel: str) -> bool:
        """Whether a file exists at ``rel``."""
        _, path = self.resolve(rel)
        return path.is_file()

    def wipe(self) -> None:
        """Delete the whole directory (before a rebuild from the stream)."""
        shutil.rmtree(self.root, ignore_errors=True)

    def paths(self) -> Iterator[tuple[str, Path]]:
        """Every regular file a person might edit, by its path inside the directory (no symlinks)."""
        if not self.root.is_dir():
            return
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames.sort()
            for name in sorted(filenames):
                path = Path(dirpath) / name
                rel = path.relative_to(self.root).as_posix()
                if rel.startswith(SKIP_IN_SCAN) or name.startswith(".") or path.is_symlink():
                    continue
                yield rel, path

    def scan(self) -> Iterator[tuple[str, bytes]]:
        """Every file of :meth:`paths` with its bytes (one that vanishes meanwhile is left out)."""
        for rel, path in self.paths():
            try:
                yield rel, path.read_bytes()
            except OSError:
                continue


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
