"""Earlier versions of a revised procedure (reconsolidation, seed 004): archived, the last few kept.

When a ``procedure.write`` revises an existing procedure, the version it replaces is written to
``archive/procedure_versions/<name>/v<version>.md`` before the new one is, and only the newest
:data:`KEEP_VERSIONS` archived versions stay. The archive is outside the memory folders, so recall
does not index old versions; a person (or ``anima files``) can still read and restore them.
"""

from __future__ import annotations

import re

from animas_memory_writer.adapters.anima_db import AnimaDb
from animas_memory_writer.adapters.anima_dir import AnimaDir, digest
from animas_memory_writer.memory import frontmatter, rules

KEEP_VERSIONS = 5
VERSIONS = rules.ARCHIVE + "procedure_versions/"
_VERSION_FILE = re.compile(r"^v(\d+)\.md$")


def version_folder(path: str) -> str:
    """Where the archived versions of ``procedures/<name>.md`` live."""
    return VERSIONS + path.removeprefix(rules.PROCEDURES).removesuffix(".md") + "/"


def archive_previous(directory: AnimaDir, db: AnimaDb, path: str, existing: str | None) -> list[str]:
    """Archive the version ``existing`` of ``path`` (if any) and drop all but the newest kept.

    Idempotent: a redone revision writes the same archived file again.
    """
    if existing is None:
        return []
    fields, _ = frontmatter.split(existing)
    try:
        version = int(fields.get("version", "0") or 0)
    except ValueError:
        version = 0
    folder = version_folder(path)
    target = f"{folder}v{version}.md"
    directory.write(target, existing.encode())
    db.set_file(target, digest(existing.encode()))
    _, real = directory.resolve(folder)
    kept = sorted(
        (int(match.group(1)) for p in real.iterdir() if (match := _VERSION_FILE.match(p.name))),
        reverse=True,
    )
    for old in kept[KEEP_VERSIONS:]:
        directory.delete(f"{folder}v{old}.md")
        db.set_file(f"{folder}v{old}.md", None)
    return [target]
