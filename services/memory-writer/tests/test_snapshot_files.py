"""The snapshot tar: round trip, a consistent database copy, and refusals of anything unexpected."""

from __future__ import annotations

import io
import sqlite3
import tarfile
from pathlib import Path

import msgspec
import pytest

from animas_memory_writer.adapters.snapshot_files import (
    FORMAT,
    MANIFEST,
    PROJECTION,
    Manifest,
    SnapshotFiles,
    SnapshotUnusable,
)


def _anima(root: Path) -> Path:
    directory = root / "animas" / "tanaka"
    (directory / "knowledge").mkdir(parents=True)
    (directory / "knowledge" / "k.md").write_text("a fact\n")
    (directory / "empty").mkdir()
    (directory / "state").mkdir()
    conn = sqlite3.connect(directory / "state" / "anima.db")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t (v TEXT)")
    conn.execute("INSERT INTO t VALUES ('committed, still in the WAL')")
    conn.commit()
    # The connection stays open: the row is only in anima.db-wal, not in anima.db yet.
    return directory


def _manifest(**changes: object) -> Manifest:
    fields: dict[str, object] = {"format": FORMAT, "projection": PROJECTION, "anima": "tanaka", "seq": 7}
    fields.update(changes)
    return Manifest(event_id="e7", **fields)  # type: ignore[arg-type]


def test_a_snapshot_restores_every_file_and_a_consistent_database(tmp_path: Path) -> None:
    directory = _anima(tmp_path)
    files = SnapshotFiles(tmp_path / "snapshots")
    path = files.write(_manifest(), directory)
    (directory / "knowledge" / "k.md").write_text("changed after the snapshot\n")

    assert files.manifest(path).seq == 7
    files.restore(path, directory)
    assert (directory / "knowledge" / "k.md").read_text() == "a fact\n"
    assert (directory / "empty").is_dir()
    rows = sqlite3.connect(directory / "state" / "anima.db").execute("SELECT v FROM t").fetchall()
    assert rows == [("committed, still in the WAL",)]
    assert not list((tmp_path / "snapshots" / "tanaka").glob(".restore.*"))  # staging cleaned up


def test_only_the_newest_snapshots_are_kept(tmp_path: Path) -> None:
    directory = _anima(tmp_path)
    files = SnapshotFiles(tmp_path / "snapshots")
    for seq in (5, 100, 20):
        files.write(_manifest(seq=seq), directory)
    files.prune("tanaka", 2)
    assert [p.name for p in files.newest_first("tanaka")] == [f"{100:020d}.tar", f"{20:020d}.tar"]


@pytest.mark.parametrize(
    ("manifest", "reason"),
    [
        (_manifest(format=FORMAT + 1), "this build reads"),
        (_manifest(projection=PROJECTION + 1), "this build projects"),
        (_manifest(anima="sato"), "it is 'sato''s"),
    ],
)
def test_a_foreign_manifest_is_refused(tmp_path: Path, manifest: Manifest, reason: str) -> None:
    files = SnapshotFiles(tmp_path / "snapshots")
    folder = tmp_path / "snapshots" / "tanaka"
    folder.mkdir(parents=True)
    path = folder / "1.tar"
    with tarfile.open(path, "w") as tar:
        _add(tar, MANIFEST, msgspec.json.encode(manifest))
    with pytest.raises(SnapshotUnusable, match=reason):
        files.manifest(path)


@pytest.mark.parametrize("name", ["../escape", "anima/../../escape", "/etc/escape", "other/file"])
def test_a_member_outside_the_anima_is_refused_and_nothing_is_written(tmp_path: Path, name: str) -> None:
    directory = _anima(tmp_path)
    files = SnapshotFiles(tmp_path / "snapshots")
    folder = tmp_path / "snapshots" / "tanaka"
    folder.mkdir(parents=True)
    path = folder / "1.tar"
    with tarfile.open(path, "w") as tar:
        _add(tar, MANIFEST, msgspec.json.encode(_manifest()))
        _add(tar, "anima/ok.md", b"fine")
        _add(tar, name, b"evil")
    with pytest.raises(SnapshotUnusable):
        files.restore(path, directory)
    assert not (tmp_path / "escape").exists() and not (tmp_path / "snapshots" / "escape").exists()
    assert (directory / "knowledge" / "k.md").read_text() == "a fact\n"  # left as it was


def test_garbage_is_unreadable(tmp_path: Path) -> None:
    folder = tmp_path / "snapshots" / "tanaka"
    folder.mkdir(parents=True)
    (folder / "1.tar").write_bytes(b"not a tar at all")
    with pytest.raises(SnapshotUnusable, match="unreadable"):
        SnapshotFiles(tmp_path / "snapshots").manifest(folder / "1.tar")


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))
