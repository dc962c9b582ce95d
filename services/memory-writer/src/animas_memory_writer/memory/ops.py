"""How each memory operation changes a file's text: pure functions of the old text and the op."""

from __future__ import annotations

from datetime import datetime

from animas_contracts import AppendEpisode, MarkImportant, MemoryExtracted, WriteKnowledge, WriteProcedure
from animas_core.episodes import episode_entry
from animas_memory_writer.memory import frontmatter
from animas_memory_writer.memory.rules import Rejected

IMPORTANT = "[IMPORTANT]"


def episode_path(local_time: datetime) -> str:
    """The day file an episode entry belongs to."""
    return f"episodes/{local_time.date().isoformat()}.md"


def append_episode(existing: str | None, op: AppendEpisode, local_time: datetime) -> str:
    """The day file with one more entry (seed 003 §4.5)."""
    text = existing if existing else f"# {local_time.date().isoformat()} Action Log\n"
    if not text.endswith("\n"):
        text += "\n"
    return text + "\n" + episode_entry(op, local_time.strftime("%H:%M"))


def extracted_episode(event: MemoryExtracted) -> AppendEpisode:
    """The episode entry an application's extracted event becomes.

    The application's words are kept whole (on one line) as what was said; the trigger names the
    kind of event and its session (``(session <id>)``), which is how a session's memories are
    found again.
    """
    who = f" by {event.author}" if event.author else ""
    session = f" (session {event.session_id})" if event.session_id else ""
    return AppendEpisode(
        title=f"{event.kind}{who}",
        at=event.at,
        trigger=f"extracted {event.kind}{session}",
        decision="Kept as a memory",
        result="Stored",
        said=event.content,
    )


def write_knowledge(existing: str | None, op: WriteKnowledge, at: datetime) -> str:
    """A knowledge file with the new body; ``created`` survives revisions, ``updated`` moves."""
    fields, _ = frontmatter.split(existing)
    stamp = at.isoformat(timespec="seconds")
    merged = {**fields, **{k: str(v) for k, v in op.frontmatter.items()}}
    merged.setdefault("created", stamp)
    merged["updated"] = stamp
    return frontmatter.render(merged, op.content)


def write_procedure(
    existing: str | None, op: WriteProcedure, at: datetime, successes: int, failures: int
) -> str:
    """A procedure revision: version + 1, outcome counts and confidence as of this revision."""
    fields, _ = frontmatter.split(existing)
    stamp = at.isoformat(timespec="seconds")
    version = int(fields.get("version", "0") or 0) + 1
    merged = {
        **fields,
        "version": str(version),
        "success_count": str(successes),
        "failure_count": str(failures),
        "confidence": f"{_confidence(op, existing, successes, failures):.2f}",
        "updated": stamp,
    }
    merged.setdefault("created", stamp)
    if op.description:
        merged["description"] = op.description
    return frontmatter.render(merged, op.content)


def _confidence(op: WriteProcedure, existing: str | None, successes: int, failures: int) -> float:
    """The op's starting confidence for a new procedure without outcomes, else the measured one."""
    if existing is None and op.confidence is not None and successes == failures == 0:
        return op.confidence
    return confidence(successes, failures)


def confidence(successes: int, failures: int) -> float:
    """Laplace-smoothed success rate: 0.5 with no evidence, moving with each outcome."""
    return (successes + 1) / (successes + failures + 2)


def mark_important(existing: str | None, op: MarkImportant) -> str:
    """The file with ``[IMPORTANT]`` before the first line containing ``op.text``."""
    if existing is None:
        raise Rejected(f"{op.path} does not exist")
    lines = existing.split("\n")
    for index, line in enumerate(lines):
        if op.text and op.text in line:
            if IMPORTANT in line:
                return existing
            stripped = line.lstrip()
            indent = line[: len(line) - len(stripped)]
            marker = ""
            for bullet in ("- ", "* ", "+ "):
                if stripped.startswith(bullet):
                    marker, stripped = bullet, stripped[len(bullet) :]
                    break
            lines[index] = f"{indent}{marker}{IMPORTANT} {stripped}"
            return "\n".join(lines)
    raise Rejected(f"no line of {op.path} contains {op.text!r}")
