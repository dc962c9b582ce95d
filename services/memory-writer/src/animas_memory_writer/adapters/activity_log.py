"""The per-day JSONL files: appended atomically, idempotently, in stream order."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path
from typing import Any

from animas_core.home import Home


class ActivityLogFiles:
    """Appends entries to ``<anima>/activity_log/YYYY-MM-DD.jsonl``, each event at most once.

    Each line is written with one ``write`` and fsynced before the message is acked. The ids
    already in a file are read on first touch, so a redelivered event after a crash is
    recognised; a torn last line from a crash mid-write is cut off before appending.
    """

    def __init__(self, home: Home) -> None:
        self._home = home
        # Event ids per file, with the inode they were read from: a file deleted or replaced
        # behind our back is read again rather than trusted from memory.
        self._seen: dict[Path, tuple[int, set[str]]] = {}

    def path(self, anima: str, day: date) -> Path:
        """The file of one anima's day."""
        return self._home.activity_log_dir(anima) / f"{day.isoformat()}.jsonl"

    def append(self, anima: str, day: date, entry: dict[str, Any]) -> bool:
        """Append ``entry`` unless its event is already in the file; return whether it was written."""
        path = self.path(anima, day)
        seen = self._ids(path)
        event_id = entry["meta"]["event_id"]
        if event_id in seen:
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        line = (json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
        seen.add(event_id)
        self._seen[path] = (os.stat(path).st_ino, seen)
        return True

    def forget(self) -> None:
        """Drop what was read of the files (a rebuild has just deleted directories)."""
        self._seen.clear()

    def file_count(self, anima: str) -> int:
        """How many day files an anima's activity log has."""
        return len(list(self._home.activity_log_dir(anima).glob("*.jsonl")))

    def animas(self) -> list[str]:
        """Animas that have a directory."""
        if not self._home.animas_dir.is_dir():
            return []
        return sorted(p.name for p in self._home.animas_dir.iterdir() if p.is_dir())

    def _ids(self, path: Path) -> set[str]:
        try:
            inode = os.stat(path).st_ino
        except FileNotFoundError:
            inode = -1
        cached = self._seen.get(path)
        if cached is not None and cached[0] == inode:
            return cached[1]
        ids: set[str] = set()
        if inode != -1:
            raw = path.read_bytes()
            if raw and not raw.endswith(b"\n"):
                # A crash cut the last line short: drop it; its event will be redelivered.
                keep = raw.rfind(b"\n") + 1
                with open(path, "r+b") as handle:
                    handle.truncate(keep)
                    os.fsync(handle.fileno())
                raw = raw[:keep]
            for line in raw.splitlines():
                ids.add(json.loads(line)["meta"]["event_id"])
        self._seen[path] = (inode, ids)
        return ids
