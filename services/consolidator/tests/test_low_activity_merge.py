"""Weekly reorganisation (seed 004 stage 2): low-activity knowledge alike at a lower threshold is merged."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from animas_consolidator.domain.forgetting import ForgettingRules, Memory, low_activity
from animas_consolidator.domain.weekly_plan import WeeklySettings, weekly_plan
from animas_contracts import ArchiveMemory, MetaRecord, WriteKnowledge

DAY = date(2026, 12, 7)
ZONE = ZoneInfo("Asia/Tokyo")
SETTINGS = WeeklySettings(threshold=0.85, summary_after_days=7, min_repeats=3, low_activity_threshold=0.6)
# Alike at about 0.73: below the duplicate threshold, above the low-activity one.
JAMS = "The staging printer on floor 3 jams when the paper tray is overfilled."
OVERFILL = "The printer on floor 3 jams often; do not overfill the paper tray."


def knowledge(text: str, updated: str = "2026-09-01") -> str:
    return f"---\nupdated: {updated}\n---\n\n# Printer\n\n{text}\n"


FILES = {
    "knowledge/printer-a.md": knowledge(JAMS),
    "knowledge/printer-b.md": knowledge(OVERFILL),
    "knowledge/budget.md": knowledge("Quarterly budget reviews happen in the first week of April."),
}


def _low(files: dict[str, str]) -> list[str]:
    memories = [Memory(path, text, MetaRecord(path=path)) for path, text in files.items()]
    return [m.path for m in low_activity(memories, DAY, ForgettingRules())]


def test_two_low_activity_chunks_alike_below_the_duplicate_threshold_become_one() -> None:
    plan = weekly_plan(DAY, ZONE, {}, FILES, SETTINGS, low_activity=_low(FILES))
    write, archive = (op.op for op in plan.ops)
    assert [op.action for op in plan.ops] == ["merge", "archive"]
    assert isinstance(write, WriteKnowledge) and write.path == "knowledge/printer-a.md"
    assert JAMS in write.content and OVERFILL in write.content
    assert write.frontmatter["merged_from"] == "knowledge/printer-b.md"
    assert archive == ArchiveMemory(path="knowledge/printer-b.md")


def test_the_same_chunks_in_use_are_left_alone() -> None:
    assert weekly_plan(DAY, ZONE, {}, FILES, SETTINGS).ops == ()
    recalled = FILES | {"knowledge/printer-b.md": knowledge(OVERFILL, updated="2026-12-01")}
    assert _low(recalled) == ["knowledge/printer-a.md", "knowledge/budget.md"]
    assert weekly_plan(DAY, ZONE, {}, recalled, SETTINGS, low_activity=_low(recalled)).ops == ()


def test_protected_chunks_are_never_low_so_never_merged() -> None:
    important = FILES | {"knowledge/printer-b.md": knowledge(f"[IMPORTANT] {OVERFILL}")}
    helped = FILES | {
        "knowledge/printer-b.md": "---\nsuccess_count: 2\nupdated: 2026-09-01\n---\n\n" + OVERFILL
    }
    for files in (important, helped):
        assert "knowledge/printer-b.md" not in _low(files)
        assert weekly_plan(DAY, ZONE, {}, files, SETTINGS, low_activity=_low(files)).ops == ()


def test_only_knowledge_is_merged_and_the_threshold_is_the_configured_one() -> None:
    procedures = {path.replace("knowledge/", "procedures/"): text for path, text in FILES.items()}
    assert weekly_plan(DAY, ZONE, {}, procedures, SETTINGS, low_activity=list(procedures)).ops == ()
    strict = WeeklySettings(threshold=0.85, summary_after_days=7, min_repeats=3, low_activity_threshold=0.8)
    assert weekly_plan(DAY, ZONE, {}, FILES, strict, low_activity=_low(FILES)).ops == ()


def test_the_low_activity_merge_has_its_own_stable_key() -> None:
    first = weekly_plan(DAY, ZONE, {}, FILES, SETTINGS, low_activity=_low(FILES))
    again = weekly_plan(DAY, ZONE, {}, FILES, SETTINGS, low_activity=_low(FILES))
    assert [op.key for op in first.ops] == [op.key for op in again.ops]
    assert first.ops[0].key.startswith("low-activity-merge:knowledge/printer-a.md:")


def test_a_low_chunk_that_gained_an_important_line_from_a_duplicate_is_protected_now() -> None:
    # printer-b was low when forgetting looked; its duplicate (0.85) is [IMPORTANT], so that one is
    # kept and printer-b folded into it; the important file is never merged at the low threshold.
    files = FILES | {"knowledge/printer-c.md": knowledge(f"[IMPORTANT] {OVERFILL}")}
    plan = weekly_plan(DAY, ZONE, {}, files, SETTINGS, low_activity=[*_low(FILES), "knowledge/printer-c.md"])
    assert [(op.action, getattr(op.op, "path", "")) for op in plan.ops] == [
        ("merge", "knowledge/printer-c.md"),
        ("archive", "knowledge/printer-b.md"),
    ]


def test_a_merge_keeps_the_files_the_dropped_one_had_merged() -> None:
    header = "---\nmerged_from: knowledge/printer-old.md\nupdated: 2026-09-01\n---\n\n"
    chained = f"{header}# Printer\n\n{OVERFILL}"
    files = FILES | {"knowledge/printer-b.md": chained}
    write = weekly_plan(DAY, ZONE, {}, files, SETTINGS, low_activity=_low(files)).ops[0].op
    assert isinstance(write, WriteKnowledge)
    assert write.frontmatter["merged_from"] == "knowledge/printer-old.md; knowledge/printer-b.md"
