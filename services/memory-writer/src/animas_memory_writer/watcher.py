"""Hand edits: files changed on disk by a person are recorded as ``memory.edited`` events.

memory-writer remembers the digest of everything it writes. A periodic scan (and ``anima sync``
on demand) compares the files with those digests; a difference is an edit nobody announced, and
recording it keeps the stream the complete history, so a rebuild still reproduces the file.

A scan reads only files whose stat stamp (inode, size, modification and change times) differs from
the last scan's, rather than every file of every anima each interval. The change time cannot be set
by a person, so an edit made after the last write changes the stamp (two same-size writes within
one tick of the kernel's clock, a few ms, with a scan between them, would share it).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import msgspec
from nats.aio.msg import Msg

from animas_contracts import MemoryEdited, SyncReply, derive_id, validate_anima_name
from animas_contracts.names import InvalidAnimaName
from animas_core.broker import EventSink
from animas_memory_writer.adapters.anima_dir import SKIP_IN_SCAN, digest
from animas_memory_writer.applier import MemoryApplier
from animas_memory_writer.handlers import PRODUCER, Projector

_log = logging.getLogger(__name__)


Stamp = tuple[int, int, int, int]
"""A file's inode, size, modification and change times (ns)."""

Stamps = dict[str, tuple[Stamp, str]]
"""One anima's files as last read: path → (stamp, digest)."""


def find_edits(applier: MemoryApplier, anima: str, stamps: Stamps | None = None) -> list[MemoryEdited]:
    """Files whose bytes differ from what memory-writer last wrote, as events (not yet published).

    ``stamps`` carries what the last scan read: a file whose stamp is unchanged keeps its digest
    unread. It is updated in place.
    """
    if not applier.exists(anima):
        return []
    stamps = {} if stamps is None else stamps
    known = applier.db(anima).files()
    edits: list[MemoryEdited] = []
    seen: set[str] = set()
    for path, file in applier.directory(anima).paths():
        read = _read(file, stamps.get(path))
        if read is None:
            continue
        seen.add(path)
        stamps[path] = read[0]
        now, data = read[0][1], read[1]
        before = known.get(path)
        if now == before:
            continue
        try:
            text = (file.read_bytes() if data is None else data).decode("utf-8")
        except UnicodeDecodeError:
            _log.warning("binary file changed by hand is not recorded", extra={"anima": anima, "path": path})
            continue
        except OSError:
            continue
        edits.append(_edit(anima, path, text, before, now))
    for path in stamps.keys() - seen:
        del stamps[path]
    for path, before in known.items():
        if path not in seen and not path.startswith(SKIP_IN_SCAN):
            edits.append(_edit(anima, path, None, before, "deleted"))
    return edits


def _read(file: Path, last: tuple[Stamp, str] | None) -> tuple[tuple[Stamp, str], bytes | None] | None:
    """The file's stamp and digest, and its bytes when they had to be read; None if it is gone."""
    try:
        info = file.stat()
        stamp = (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
        if last is not None and last[0] == stamp:
            return last, None
        data = file.read_bytes()
    except OSError:
        return None
    return (stamp, digest(data)), data


def _edit(anima: str, path: str, content: str | None, before: str | None, now: str) -> MemoryEdited:
    event_id = derive_id(anima, "edited", path, before or "new", now)
    return MemoryEdited(
        id=event_id,
        anima=anima,
        correlation_id=event_id,
        producer=PRODUCER,
        path=path,
        content=content,
        digest_before=before,
    )


class Watcher:
    """Scans every anima for hand edits on an interval, and on request."""

    def __init__(self, projector: Projector, publisher: EventSink, interval_s: float) -> None:
        self._projector = projector
        self._publisher = publisher
        self._interval_s = interval_s
        self._stamps: dict[str, Stamps] = {}

    async def scan(self, anima: str) -> list[str]:
        """Record the hand edits of one anima; return their paths."""
        async with self._projector.lock:
            stamps = self._stamps.setdefault(anima, {})
            edits = await asyncio.to_thread(find_edits, self._projector.applier, anima, stamps)
        for edit in edits:
            await self._publisher.publish(edit)
        if edits:
            _log.info("hand edits recorded", extra={"anima": anima, "paths": [e.path for e in edits]})
        return [e.path for e in edits]

    async def run(self) -> None:
        """Scan every anima forever (cancel to stop)."""
        while True:
            await asyncio.sleep(self._interval_s)
            for anima in self._projector.files.animas():
                try:
                    await self.scan(anima)
                except Exception:
                    _log.exception("hand-edit scan failed", extra={"anima": anima})

    async def on_sync(self, msg: Msg) -> None:
        """Answer ``rpc.memory.sync.<anima>``: scan now."""
        anima = msg.subject.rsplit(".", 1)[-1]
        try:
            validate_anima_name(anima)
            reply = SyncReply(ok=True, edits=await self.scan(anima))
        except InvalidAnimaName as exc:
            reply = SyncReply(ok=False, error=str(exc))
        except Exception as exc:
            _log.exception("sync failed")
            reply = SyncReply(ok=False, error=repr(exc))
        await msg.respond(msgspec.json.encode(reply))
