"""Export and import of an anima: one archive out, snapshot events in."""

from __future__ import annotations

import io
import json
import sqlite3
import tarfile
from pathlib import Path

import msgspec

from animas_contracts import AnimaCreated, MetaRecord, TaskRecord, uuid7, validate_anima_name

SNAPSHOT = ".animaworks-snapshot.json"
"""Inside an export: the anima's task store and memory metadata (its database is rebuilt)."""
INLINE_LIMIT = 128 * 1024
"""Files above this go to the object store and travel by digest."""
SKIPPED = ("state/anima.db",)


class ImportError_(ValueError):
    """An archive that cannot be imported."""


def export_anima(anima_dir: Path, target: Path) -> int:
    """Write ``anima_dir`` (without its database, with a snapshot of its rows) as a .tar.gz."""
    snapshot: dict[str, list[dict[str, object]]] = {"tasks": [], "meta": []}
    db = anima_dir / "state" / "anima.db"
    if db.exists():
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            cols = "task_id, title, detail, relation, state, counterpart, created_at, updated_at"
            snapshot["tasks"] = [
                dict(zip(cols.split(", "), row, strict=True))
                for row in conn.execute(f"SELECT {cols} FROM tasks ORDER BY seq")
            ]
            meta_cols = "path, access_count, last_access, success_count, failure_count, importance"
            snapshot["meta"] = [
                dict(zip(meta_cols.split(", "), row, strict=True))
                for row in conn.execute(f"SELECT {meta_cols} FROM memory_meta ORDER BY path")
            ]
        finally:
            conn.close()
    count = 0
    with tarfile.open(target, "w:gz") as archive:
        for path in sorted(anima_dir.rglob("*")):
            rel = path.relative_to(anima_dir).as_posix()
            if (
                not path.is_file()
                or path.is_symlink()
                or rel.startswith(SKIPPED)
                or path.name.startswith(".")
            ):
                continue
            archive.add(path, arcname=f"{anima_dir.name}/{rel}", recursive=False)
            count += 1
        data = json.dumps(snapshot, indent=2, sort_keys=True).encode()
        info = tarfile.TarInfo(f"{anima_dir.name}/{SNAPSHOT}")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return count


def read_export(source: Path, name: str | None) -> tuple[str, dict[str, bytes], dict[str, object]]:
    """The anima name, its files and its snapshot, from an archive made by :func:`export_anima`."""
    files: dict[str, bytes] = {}
    snapshot: dict[str, object] = {"tasks": [], "meta": []}
    archived_name: str | None = None
    with tarfile.open(source, "r:gz") as archive:
        for member in archive.getmembers():
            if not member.isfile():
                continue
            top, _, rel = member.name.partition("/")
            if not rel or rel.startswith("/") or ".." in rel.split("/"):
                raise ImportError_(f"unsafe path in archive: {member.name!r}")
            archived_name = archived_name or top
            handle = archive.extractfile(member)
            data = handle.read() if handle else b""
            if rel == SNAPSHOT:
                snapshot = json.loads(data)
            else:
                files[rel] = data
    if archived_name is None:
        raise ImportError_(f"{source} holds no anima")
    final = validate_anima_name(name or archived_name)
    if "identity.md" not in files or "status.json" not in files:
        raise ImportError_(f"{source} is not an anima export: identity.md or status.json is missing")
    return final, files, snapshot


def import_event(
    name: str, files: dict[str, bytes], snapshot: dict[str, object], *, blobs: dict[str, str]
) -> AnimaCreated:
    """The snapshot event that brings an exported anima into this home.

    ``blobs`` maps the paths of large files (already put in the object store) to their digests.
    """
    text: dict[str, str] = {}
    binary: dict[str, bytes] = {}
    for path, data in files.items():
        if path in blobs:
            continue
        try:
            text[path] = data.decode("utf-8")
        except UnicodeDecodeError:
            binary[path] = data
    event_id = uuid7()
    return AnimaCreated(
        id=event_id,
        anima=name,
        correlation_id=event_id,
        producer="cli",
        source="import",
        files=text,
        binary_files=binary,
        blobs=blobs,
        tasks=msgspec.convert(snapshot.get("tasks", []), list[TaskRecord]),
        meta=msgspec.convert(snapshot.get("meta", []), list[MetaRecord]),
    )
