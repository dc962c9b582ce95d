"""Projection snapshots on disk: one tar per snapshot, ``<home>/snapshots/<anima>/<seq>.tar``.

A snapshot is everything memory-writer projected for one anima (its whole directory, the
SQLite state included) together with the stream sequence it reflects and the id of the event
stored there. Why disk beside the home and not the object store: the snapshot only speeds up
rebuilding the projection it sits next to (on the StatefulSet's volume in Kubernetes), it adds
no broker traffic or bucket rights, and losing the volume loses both, which a full replay
repairs (ACTIVITY is kept for good). See docs/retention.md.

Format (``FORMAT``): ``snapshot.json`` (the manifest) first, then ``anima/<path>`` for every
file. The database is copied with SQLite's backup API, so the copy is consistent whatever its
WAL holds. Anything unexpected when reading (bad tar, missing or foreign manifest, a path
outside ``anima/``) raises :class:`SnapshotUnusable` with the reason; the caller replays fully.
"""

from __future__ import annotations

import io
import os
import shutil
import sqlite3
import tarfile
import tempfile
from pathlib import Path

import msgspec

FORMAT = 1
"""Raised when the tar layout or manifest changes."""
PROJECTION = 1
"""Raised when the projection of events into files changes (a snapshot from older code is stale)."""
MANIFEST = "snapshot.json"
DB = "state/anima.db"
_DB_SIDE_FILES = (DB, f"{DB}-wal", f"{DB}-shm", f"{DB}-journal")


class Manifest(msgspec.Struct, frozen=True, kw_only=True):
    """What a snapshot reflects."""

    format: int
    projection: int
    anima: str
    seq: int
    """The stream sequence of the last event the snapshot includes (events of other animas too)."""
    event_id: str | None = None
    """The id of the event stored at ``seq``, checked against the stream before use."""


class SnapshotUnusable(Exception):
    """A snapshot that must not be restored; the message says why."""


class SnapshotFiles:
    """Writes, lists, prunes and restores the snapshots of every anima under one folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, manifest: Manifest, directory: Path) -> Path:
        """Snapshot ``directory`` atomically (temp file, fsync, rename) as ``<seq>.tar``."""
        folder = self.root / manifest.anima
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{manifest.seq:020d}.tar"
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                with tarfile.open(fileobj=handle, mode="w") as tar:
                    _add_bytes(tar, MANIFEST, msgspec.json.encode(manifest))
                    _add_tree(tar, directory)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target

    def newest_first(self, anima: str) -> list[Path]:
        """An anima's snapshot files, the latest sequence first."""
        folder = self.root / anima
        if not folder.is_dir():
            return []
        return sorted((p for p in folder.glob("*.tar") if p.stem.isdigit()), reverse=True)

    def prune(self, anima: str, keep: int) -> None:
        """Delete all but the ``keep`` newest snapshots of an anima."""
        for old in self.newest_first(anima)[keep:]:
            old.unlink(missing_ok=True)

    def animas(self) -> list[str]:
        """Animas that have a snapshot folder."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith("."))

    def manifest(self, path: Path) -> Manifest:
        """The manifest of a snapshot, checked for this build's format and projection."""
        try:
            with tarfile.open(path, mode="r") as tar:
                member = tar.next()
                if member is None or member.name != MANIFEST:
                    raise SnapshotUnusable(f"{path.name}: no {MANIFEST} at its start")
                raw = tar.extractfile(member)
                manifest = msgspec.json.decode(raw.read() if raw else b"", type=Manifest)
        except (OSError, tarfile.TarError, msgspec.DecodeError) as exc:
            raise SnapshotUnusable(f"{path.name}: unreadable ({exc})") from None
        if manifest.format != FORMAT:
            raise SnapshotUnusable(f"{path.name}: format {manifest.format}, this build reads {FORMAT}")
        if manifest.projection != PROJECTION:
            raise SnapshotUnusable(
                f"{path.name}: made by projection {manifest.projection}, this build projects {PROJECTION}"
            )
        if path.parent.name != manifest.anima:
            raise SnapshotUnusable(
                f"{path.name}: it is {manifest.anima!r}'s, found under {path.parent.name!r}"
            )
        return manifest

    def restore(self, path: Path, directory: Path) -> None:
        """Replace ``directory`` with the snapshot's files (extracted beside it, then renamed)."""
        # Staged under the snapshots folder (same file system as the home), never among the
        # anima directories, where a half-restored one would be listed as an anima.
        staging = Path(tempfile.mkdtemp(dir=path.parent, prefix=".restore."))
        try:
            with tarfile.open(path, mode="r") as tar:
                for member in tar.getmembers():
                    if member.name == MANIFEST:
                        continue
                    inside = member.name == "anima" or member.name.startswith("anima/")
                    if not inside or not (member.isfile() or member.isdir()):
                        raise SnapshotUnusable(f"{path.name}: unexpected member {member.name!r}")
                    # The "data" filter refuses absolute paths, "..", links and device files.
                    tar.extract(member, staging, filter="data")
            shutil.rmtree(directory, ignore_errors=True)
            restored = staging / "anima"
            restored.mkdir(exist_ok=True)
            os.replace(restored, directory)
        except (OSError, tarfile.TarError) as exc:
            raise SnapshotUnusable(f"{path.name}: could not be restored ({exc})") from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def _add_tree(tar: tarfile.TarFile, directory: Path) -> None:
    """Every regular file and folder (symlinks left out), sorted, and a consistent copy of the DB."""
    for dirpath, dirnames, filenames in os.walk(directory):
        dirnames.sort()
        folder = Path(dirpath)
        rel_folder = folder.relative_to(directory).as_posix()
        tar.add(folder, arcname="anima" if rel_folder == "." else f"anima/{rel_folder}", recursive=False)
        for name in sorted(filenames):
            path = folder / name
            rel = path.relative_to(directory).as_posix()
            if rel in _DB_SIDE_FILES or path.is_symlink() or not path.is_file():
                continue
            tar.add(path, arcname=f"anima/{rel}", recursive=False)
    db = directory / DB
    if db.is_file():
        _add_bytes(tar, f"anima/{DB}", _backup(db))


def _backup(db: Path) -> bytes:
    """A consistent copy of a live SQLite database, as bytes (the backup API reads through the WAL)."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "copy.db"
        source = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        target = sqlite3.connect(copy)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
        return copy.read_bytes()
