"""Seed 002's extracted events: one episode entry in the day file of when it happened, once."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from animas_contracts import AnimaCreated, MemoryExtracted
from animas_core.anima_files import AnimaSpec, blank_files
from animas_core.config import CachedConfig
from animas_core.home import Home
from animas_memory_writer.applier import MemoryApplier

EMITTED = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _applier(tmp_path: Path) -> MemoryApplier:
    applier = MemoryApplier(Home(tmp_path), CachedConfig(tmp_path / "config.json"))
    created = AnimaCreated(
        id="create",
        anima="ext-user",
        correlation_id="c",
        producer="gateway",
        source="blank",
        files=blank_files(AnimaSpec(name="ext-user")),
    )
    assert (outcome := applier.apply(created)) is not None and outcome.applied
    return applier


def _extracted(event_id: str, at: datetime, content: str, session: str | None = "s-1") -> MemoryExtracted:
    return MemoryExtracted(
        id=event_id,
        anima="ext-user",
        correlation_id=event_id,
        producer="gateway",
        ts=EMITTED,
        kind="message_in",
        content=content,
        at=at,
        session_id=session,
        author="alice",
    )


def test_an_extracted_event_lands_in_the_day_it_happened_not_the_day_it_was_sent(tmp_path: Path) -> None:
    applier = _applier(tmp_path)
    outcome = applier.apply(
        _extracted("e1", datetime(2025, 8, 2, 16, 5, tzinfo=UTC), "My cat is\nnamed Miso")
    )
    assert outcome is not None and outcome.applied
    assert outcome.paths == ("episodes/2025-08-02.md",)
    text = applier.directory("ext-user").read_text("episodes/2025-08-02.md")
    assert text == (
        "# 2025-08-02 Action Log\n\n## 16:05 message_in by alice\n"
        "- Trigger: extracted message_in (session s-1)\n- Said: My cat is named Miso\n"
        "- Decision: Kept as a memory\n- Result: Stored\n- Lesson: None\n"
    )
    assert applier.directory("ext-user").read_text("episodes/2026-03-01.md") is None


def test_the_same_extracted_event_twice_is_one_entry(tmp_path: Path) -> None:
    applier = _applier(tmp_path)
    event = _extracted("e1", datetime(2025, 8, 2, 16, 5, tzinfo=UTC), "once", session=None)
    first, second = applier.apply(event), applier.apply(event)
    assert first == second
    text = applier.directory("ext-user").read_text("episodes/2025-08-02.md") or ""
    assert text.count("- Said: once") == 1
    assert "(session" not in text


def test_an_extracted_event_for_no_anima_is_refused(tmp_path: Path) -> None:
    applier = _applier(tmp_path)
    other = MemoryExtracted(
        id="x", anima="nobody", correlation_id="x", producer="gateway", kind="fact", content="c", at=EMITTED
    )
    outcome = applier.apply(other)
    assert outcome is not None and not outcome.applied
