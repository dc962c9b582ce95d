"""Reads of anima directories over request/reply, so no other service needs the files on its disk."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3

import msgspec
from nats.aio.msg import Msg

from animas_contracts import (
    AnimaListReply,
    AnimaSummary,
    GrepMatch,
    MemoryReadReply,
    MemoryReadRequest,
    MetaRecord,
    validate_anima_name,
)
from animas_contracts.names import InvalidAnimaName
from animas_core.home import Home
from animas_memory_writer.adapters.anima_db import read_tasks
from animas_memory_writer.adapters.anima_dir import AnimaDir, digest
from animas_memory_writer.memory.rules import Rejected

_log = logging.getLogger(__name__)
MAX_GREP_MATCHES = 200
UNREADABLE = ("state/anima.db",)
MEMORY_FOLDERS = ("knowledge/", "episodes/", "procedures/", "skills/")
"""What the recall index covers (``tree`` lists these with their digests)."""


def read(directory: AnimaDir, request: MemoryReadRequest) -> MemoryReadReply:
    """Serve one read inside one anima's directory."""
    try:
        if request.path:
            clean, target = directory.resolve(request.path)
        else:
            clean, target = "", directory.root.resolve()
    except Rejected as exc:
        return MemoryReadReply(ok=False, error=str(exc))
    if clean.startswith(UNREADABLE):
        return MemoryReadReply(ok=False, error=f"{clean} is not readable")
    match request.op:
        case "exists":
            return MemoryReadReply(ok=True, exists=target.exists())
        case "read":
            if not target.is_file():
                return MemoryReadReply(ok=False, error=f"{clean or '.'} is not a file")
            data = target.read_bytes()
            truncated = len(data) > request.max_bytes
            text = data[: request.max_bytes].decode("utf-8", errors="replace")
            return MemoryReadReply(ok=True, content=text, truncated=truncated, exists=True)
        case "list":
            if not target.is_dir():
                return MemoryReadReply(ok=False, error=f"{clean or '.'} is not a folder")
            entries = sorted(
                p.name + ("/" if p.is_dir() else "") for p in target.iterdir() if not p.name.startswith(".")
            )
            return MemoryReadReply(ok=True, entries=entries, exists=True)
        case "grep":
            return MemoryReadReply(ok=True, matches=_grep(directory, clean, request.pattern))
        case "tree":
            files = {rel: digest(data) for rel, data in directory.scan() if rel.startswith(MEMORY_FOLDERS)}
            return MemoryReadReply(ok=True, files=files)
        case "stats":
            return MemoryReadReply(ok=True, stats=stats(directory))
        case "tasks":
            return MemoryReadReply(ok=True, tasks=read_tasks(directory.root / "state" / "anima.db"))
    return MemoryReadReply(
        ok=False, error=f"unknown read op {request.op!r} (read, list, grep, exists, tree, stats, tasks)"
    )


def stats(directory: AnimaDir) -> list[MetaRecord]:
    """Memory metadata from the anima's database, read-only (memory-writer's own writer keeps it)."""
    db = directory.root / "state" / "anima.db"
    if not db.exists():
        return []
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT path, access_count, last_access, success_count, failure_count, importance "
            "FROM memory_meta"
        ).fetchall()
        marks = dict(_low_marks(conn))
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()
    records = [
        MetaRecord(
            path=r[0],
            access_count=r[1],
            last_access=r[2],
            success_count=r[3],
            failure_count=r[4],
            importance=r[5],
            low_since=marks.pop(r[0], None),
        )
        for r in rows
    ]
    # A memory never recalled has a mark and no counts.
    return records + [MetaRecord(path=path, low_since=since) for path, since in sorted(marks.items())]


def _low_marks(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """Low-activity marks; none in a database written before forgetting existed."""
    try:
        return [(str(p), str(s)) for p, s in conn.execute("SELECT path, since FROM low_activity")]
    except sqlite3.OperationalError:
        return []


def _grep(directory: AnimaDir, under: str, pattern: str) -> list[GrepMatch]:
    needle = pattern.lower()
    matches: list[GrepMatch] = []
    if not needle:
        return matches
    for rel, data in directory.scan():
        if under and not rel.startswith(under.rstrip("/") + "/") and rel != under:
            continue
        for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), start=1):
            if needle in line.lower():
                matches.append(GrepMatch(path=rel, line=number, text=line[:500]))
                if len(matches) >= MAX_GREP_MATCHES:
                    return matches
    return matches


def list_animas(home: Home) -> AnimaListReply:
    """Every created anima (a directory with a status.json)."""
    summaries = []
    if home.animas_dir.is_dir():
        for path in sorted(home.animas_dir.iterdir()):
            status_file = path / "status.json"
            if not status_file.is_file():
                continue
            try:
                status = json.loads(status_file.read_text(encoding="utf-8"))
            except json.JSONDecodeError:
                status = {}
            summaries.append(
                AnimaSummary(
                    name=path.name,
                    enabled=bool(status.get("enabled", True)),
                    role=status.get("role") if isinstance(status.get("role"), str) else None,
                    status=status if isinstance(status, dict) else {},
                )
            )
    return AnimaListReply(animas=summaries)


class ReadServer:
    """Answers ``rpc.memory.read.<anima>``, ``rpc.memory.shared`` and ``rpc.memory.animas``."""

    def __init__(self, home: Home) -> None:
        self._home = home

    async def on_read(self, msg: Msg) -> None:
        """One read request; the anima is the last subject token."""
        anima = msg.subject.rsplit(".", 1)[-1]
        try:
            validate_anima_name(anima)
            request = msgspec.json.decode(msg.data, type=MemoryReadRequest)
            reply = await asyncio.to_thread(read, AnimaDir(self._home.anima_dir(anima)), request)
        except (InvalidAnimaName, msgspec.DecodeError) as exc:
            reply = MemoryReadReply(ok=False, error=f"bad read request: {exc}")
        except OSError as exc:
            reply = MemoryReadReply(ok=False, error=f"read failed: {exc}")
        await msg.respond(msgspec.json.encode(reply))

    async def on_shared(self, msg: Msg) -> None:
        """A read inside the organization's shared folder (``company/vision.md``…), same rules."""
        try:
            request = msgspec.json.decode(msg.data, type=MemoryReadRequest)
            reply = await asyncio.to_thread(read, AnimaDir(self._home.root / "shared"), request)
        except msgspec.DecodeError as exc:
            reply = MemoryReadReply(ok=False, error=f"bad read request: {exc}")
        except OSError as exc:
            reply = MemoryReadReply(ok=False, error=f"read failed: {exc}")
        await msg.respond(msgspec.json.encode(reply))

    async def on_list(self, msg: Msg) -> None:
        """Which animas exist."""
        reply = await asyncio.to_thread(list_animas, self._home)
        await msg.respond(msgspec.json.encode(reply))
