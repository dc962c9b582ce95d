"""Weekly consolidation's pure parts: episode entries, summaries, routines, duplicate merges, the plan."""

from __future__ import annotations

import dataclasses
import re
from datetime import date
from zoneinfo import ZoneInfo

import pytest

from animas_consolidator.domain.compression import DaySummary, summarise_day, summary_from_groups
from animas_consolidator.domain.decisions import InvalidAnswer
from animas_consolidator.domain.duplicates import duplicate_merges
from animas_consolidator.domain.episodes import Entry, parse, render
from animas_consolidator.domain.patterns import DatedEntry, Routines, routine_procedures
from animas_consolidator.domain.summary_prompt import SummaryGroup, parse_summary_answer, summary_messages
from animas_consolidator.domain.weekly_plan import WeeklySettings, weekly_plan
from animas_contracts import AppendEpisode, ArchiveMemory, WriteProcedure

ZONE = ZoneInfo("Asia/Tokyo")
DEPLOY = ("checked the deploy logs, all green", "checked the deploy logs again, all green")
IMPORTANT_ENTRY = (
    "## 12:00 Outage\n- Trigger: Alert\n- Decision: [IMPORTANT] never restart the db during business hours\n"
    "- Result: restarted at night\n- Lesson: None"
)
SOURCES = '- 2026-12-01 episodes/2026-12-01.md:4: "a"\n- 2026-12-02 episodes/2026-12-02.md:4: "b"'
SETTINGS = WeeklySettings(threshold=0.85, summary_after_days=3, min_repeats=3)


def entry(time: str, decision: str, lesson: str = "None", title: str = "Heartbeat") -> str:
    fields = {"Trigger": "Heartbeat", "Decision": decision, "Result": "done", "Lesson": lesson}
    return render(Entry(time, title, fields, 0, ""))


def day_file(day: str, *entries: str) -> str:
    """An episode file as memory-writer's appends write it."""
    return f"# {day} Action Log\n" + "".join(f"\n{e}\n" for e in entries)


def written(day: str, summary: DaySummary) -> str:
    """The file the summary's appends produce (memory-writer's entry format)."""
    rendered = []
    for op in summary.entries:
        fields = {"Trigger": op.trigger, "Decision": op.decision, "Result": op.result, "Lesson": op.lesson}
        rendered.append(render(Entry(op.at.strftime("%H:%M"), op.title, fields, 0, "")))
    return day_file(day, *rendered)


def test_an_appended_file_parses_into_standard_entries_with_their_line_numbers() -> None:
    text = day_file("2026-11-30", entry("09:00", DEPLOY[0]), IMPORTANT_ENTRY)
    parsed = parse(text)
    assert [e.time for e in parsed.entries] == ["09:00", "12:00"] and not parsed.stray
    first, second = parsed.entries
    assert first.standard and second.standard and second.important and not first.important
    assert text.split("\n")[first.field_line("Decision") - 1] == f"- Decision: {DEPLOY[0]}"


def test_hand_written_text_is_not_a_standard_entry() -> None:
    parsed = parse("# 2026-11-30 Action Log\nsome note\n\n## 16:00 Printer\n- [IMPORTANT] it jams\n")
    assert parsed.stray == (2,) and not parsed.entries[0].standard
    reason = summarise_day(date(2026, 11, 30), "# x\n\n## 16:00 Printer\n- [IMPORTANT] it jams\n", ZONE, 0.85)
    assert isinstance(reason, str) and "verbatim" in reason


def test_alike_entries_collapse_with_count_and_time_range_and_important_ones_stay_verbatim() -> None:
    entries = [entry(f"{9 + n:02d}:00", DEPLOY[n % 2]) for n in range(5)]
    entries.insert(3, IMPORTANT_ENTRY)
    entries.append(entry("18:00", "checked the deploy logs, all green", lesson="the logs rotate at 18:00"))
    entries.append(entry("19:00", "filed the expense report"))
    summary = summarise_day(date(2026, 11, 30), day_file("2026-11-30", *entries), ZONE, 0.85)

    assert isinstance(summary, DaySummary) and summary.original_entries == 8
    titles = [op.title for op in summary.entries]
    assert titles == ["Heartbeat (summary of 6 entries, 09:00-18:00)", "Outage", "Heartbeat"]
    collapsed = summary.entries[0]
    assert (
        collapsed.decision == f"{DEPLOY[0]} (and 1 variant(s))"
        and collapsed.lesson == "the logs rotate at 18:00"
    )
    assert collapsed.at.tzinfo is ZONE and collapsed.at.date() == date(2026, 11, 30)
    assert IMPORTANT_ENTRY in written("2026-11-30", summary)


def test_a_summary_is_not_summarised_again_and_a_day_without_repeats_is_left_alone() -> None:
    text = day_file("2026-11-30", *[entry(f"1{n}:00", DEPLOY[0]) for n in range(4)])
    summary = summarise_day(date(2026, 11, 30), text, ZONE, 0.85)
    assert isinstance(summary, DaySummary)
    assert (
        summarise_day(date(2026, 11, 30), written("2026-11-30", summary), ZONE, 0.85)
        == "it is a summary already"
    )
    distinct = day_file("2026-11-30", entry("09:00", DEPLOY[0]), entry("10:00", "filed the expense report"))
    assert "nothing to compress" in str(summarise_day(date(2026, 11, 30), distinct, ZONE, 0.85))


def _week(count: int) -> list[DatedEntry]:
    items = []
    for n in range(count):
        day = f"2026-12-0{1 + n % 7}"
        parsed = parse(day_file(day, entry(f"{9 + n // 7:02d}:00", DEPLOY[n % 2])))
        items.append(DatedEntry(f"episodes/{day}.md", day, parsed.entries[0]))
    return sorted(items, key=lambda item: item.day)


def test_an_action_repeated_in_the_week_becomes_one_procedure_citing_every_entry() -> None:
    routines = routine_procedures(_week(12), {}, min_repeats=3, threshold=0.85, day="2026-12-07")
    (planned,) = routines.ops
    assert routines.uncovered == 0 and planned.action == "procedure"
    op = planned.op
    assert isinstance(op, WriteProcedure) and op.confidence == 0.4
    assert op.path == "procedures/routine-checked-the-deploy-logs-all-green.md"
    assert op.content.startswith(f"# Routine: {DEPLOY[0]}\n") and "## Steps" in op.content
    assert "Done 12 times between 2026-12-01 and 2026-12-07" in op.content
    cited = re.findall(r'^- 2026-12-07 (episodes/2026-12-0\d\.md:\d+): "(.*)"$', op.content, re.MULTILINE)
    assert len(cited) == 12 and {quote for _, quote in cited} == set(DEPLOY)


def test_an_action_seen_twice_is_no_routine_and_a_known_routine_gains_the_new_evidence() -> None:
    assert routine_procedures(_week(2), {}, 3, 0.85, "2026-12-07") == Routines([], [], 2)
    (first,) = routine_procedures(_week(12), {}, 3, 0.85, "2026-12-07").ops
    known = {first.op.path: "---\nversion: 1\ndescription: a routine\n---\n\n" + first.op.content}
    # Known and citing these very entries: nothing to write, and the run says why.
    again = routine_procedures(_week(12), known, 3, 0.85, "2026-12-14")
    assert again.ops == [] and "cites every entry already" in again.skips[0]
    # Entries it does not cite yet join the existing procedure as a revision, never a second one.
    later = [dataclasses.replace(item, path=item.path.replace("12-0", "12-1")) for item in _week(9)]
    (revised,) = routine_procedures(later, known, 3, 0.85, "2026-12-14").ops
    assert revised.action == "revise" and revised.op.path == first.op.path
    assert revised.op.confidence is None and revised.op.description == "a routine"
    assert revised.op.content.startswith(first.op.content) and "Done 9 times" in revised.op.content
    assert revised.op.content.count("## Evidence") == 1


def test_a_routine_alike_an_existing_procedure_is_not_written_twice() -> None:
    (first,) = routine_procedures(_week(12), {}, 3, 0.85, "2026-12-07").ops
    # A hand-written procedure that says the same steps under another name takes the evidence.
    steps = first.op.content.partition("## Evidence")[0]
    existing = {"procedures/deploy-checks.md": steps}
    (revised,) = routine_procedures(_week(12), existing, 3, 0.85, "2026-12-07").ops
    assert revised.op.path == "procedures/deploy-checks.md" and revised.action == "revise"
    other = {"procedures/printer.md": "# Printer\n\n## Steps\n\nOpen tray 2 and remove the jammed sheet.\n"}
    (created,) = routine_procedures(_week(12), other, 3, 0.85, "2026-12-07").ops
    assert created.action == "procedure" and created.op.path == first.op.path


def test_duplicate_knowledge_merges_into_the_first_file_keeping_both_texts_and_sources() -> None:
    files = {
        "knowledge/deploy-a.md": "---\nsources: episodes/2026-12-01.md:4\n---\n\n# Deploys\n\nThe deploy "
        'logs are checked every morning.\n\n## Sources\n- 2026-12-01 episodes/2026-12-01.md:4: "a"\n',
        "knowledge/deploy-b.md": "---\nsources: episodes/2026-12-02.md:4\n---\n\n# Deploys\n\nThe deploy "
        "logs are checked every morning!\n\nBefore 9.\n\n## Sources\n"
        '- 2026-12-02 episodes/2026-12-02.md:4: "b"\n',
        "knowledge/printer.md": "# Printer\n\nThe printer on floor 3 jams on A3 paper.\n",
    }
    (merge,) = duplicate_merges(files, 0.85)
    assert (merge.keep, merge.drop) == ("knowledge/deploy-a.md", "knowledge/deploy-b.md")
    assert merge.content.count("checked every morning") == 1 and merge.content.endswith(
        "morning.\n\nBefore 9.\n\n## Sources\n" + SOURCES
    )
    assert merge.frontmatter == {
        "merged_from": "knowledge/deploy-b.md",
        "sources": "episodes/2026-12-01.md:4; episodes/2026-12-02.md:4",
    }


def test_an_important_knowledge_file_is_the_one_kept_and_two_important_ones_stay_apart() -> None:
    plain = "# Deploys\n\nThe deploy logs are checked every morning.\n"
    important = "# Deploys\n\nThe deploy logs are checked every morning!\n\n[IMPORTANT] Before 9.\n"
    (merge,) = duplicate_merges({"knowledge/a.md": plain, "knowledge/b.md": important}, 0.85)
    assert (merge.keep, merge.drop) == ("knowledge/b.md", "knowledge/a.md")
    assert "[IMPORTANT] Before 9." in merge.content and merge.content.count("every morning") == 1
    both = {"knowledge/a.md": important, "knowledge/b.md": important.replace("Before 9", "Before 10")}
    assert duplicate_merges(both, 0.85) == []
    # An important file among several alike: it keeps, the plain ones are folded into it.
    three = {"knowledge/a.md": plain, "knowledge/b.md": plain.replace(".", ";"), "knowledge/c.md": important}
    assert [(m.keep, m.drop) for m in duplicate_merges(three, 0.85)] == [
        ("knowledge/c.md", "knowledge/a.md"),
        ("knowledge/c.md", "knowledge/b.md"),
    ]


def test_the_weekly_plan_merges_distils_and_summarises_old_days_in_that_order_with_stable_keys() -> None:
    episodes = {
        f"episodes/2026-12-0{d}.md": day_file(
            f"2026-12-0{d}", *[entry(f"1{n}:00", DEPLOY[n % 2]) for n in range(4)]
        )
        for d in range(1, 8)
    }
    knowledge = {"knowledge/a.md": "# A\n\nSame text here.\n", "knowledge/b.md": "# A\n\nSame text here.\n"}
    result = weekly_plan(date(2026, 12, 7), ZONE, episodes, knowledge, SETTINGS)
    actions = [op.action for op in result.ops]
    assert actions[:3] == ["merge", "archive", "procedure"]
    assert isinstance(result.ops[1].op, ArchiveMemory) and result.ops[1].op.path == "knowledge/b.md"
    routine = result.ops[2].op
    assert isinstance(routine, WriteProcedure) and routine.content.count("## Evidence") == 1
    # Entries of the days summarised in this run are cited in their archived originals.
    assert "2026-12-07 archive/episodes/2026-12-01.md:5:" in routine.content
    assert "2026-12-07 episodes/2026-12-07.md:5:" in routine.content
    # Days at least 3 days before 2026-12-07 (the 1st to the 4th) are summarised; the rest stay.
    compressed = [
        op.op.path for op in result.ops if op.action == "compress" and isinstance(op.op, ArchiveMemory)
    ]
    assert compressed == [f"episodes/2026-12-0{d}.md" for d in range(1, 5)]
    summaries = [op.op for op in result.ops if op.action == "summary"]
    assert len(summaries) == 4 and all(isinstance(s, AppendEpisode) for s in summaries)
    again = weekly_plan(date(2026, 12, 7), ZONE, episodes, knowledge, SETTINGS)
    assert [op.key for op in again.ops] == [op.key for op in result.ops]
    assert len({op.key for op in result.ops}) == len(result.ops)


def _groups(path: str, text: str, *sets: tuple[str, list[int]]) -> list[SummaryGroup]:
    plain = [e for e in parse(text).entries if not e.important]
    return [
        SummaryGroup(title=t, summary=f"{t}: done", refs=[f"{path}:{plain[i].line}" for i in ix])
        for t, ix in sets
    ]


def test_the_models_summary_is_used_when_it_cites_every_entry_once() -> None:
    text = day_file("2026-11-30", entry("09:00", DEPLOY[0]), IMPORTANT_ENTRY, entry("13:00", DEPLOY[1]))
    path = "episodes/2026-11-30.md"
    groups = _groups(path, text, ("Deploy log checks", [0, 1]))
    summary = summary_from_groups(date(2026, 11, 30), path, text, ZONE, groups)
    assert isinstance(summary, DaySummary)
    assert [op.title for op in summary.entries] == [
        "Deploy log checks (summary of 2 entries, 09:00-13:00)",
        "Outage",
    ]
    assert summary.entries[0].decision == "Deploy log checks: done" and IMPORTANT_ENTRY in written(
        "2026-11-30", summary
    )


def test_a_models_summary_that_drops_repeats_or_invents_an_entry_is_refused() -> None:
    text = day_file("2026-11-30", entry("09:00", DEPLOY[0]), entry("13:00", DEPLOY[1]))
    path = "episodes/2026-11-30.md"
    dropped = summary_from_groups(date(2026, 11, 30), path, text, ZONE, _groups(path, text, ("x", [0])))
    assert dropped == f"the model's summary leaves out 1 entries (e.g. {path}:9)"
    twice = summary_from_groups(
        date(2026, 11, 30), path, text, ZONE, _groups(path, text, ("x", [0, 1]), ("y", [1]))
    )
    assert twice == f"the model's summary cites {path}:9 more than once"
    invented = [SummaryGroup(title="x", summary="y", refs=[f"{path}:99"])]
    assert "cites episodes/2026-11-30.md:99, which is not an entry" in str(
        summary_from_groups(date(2026, 11, 30), path, text, ZONE, invented)
    )


def test_the_summary_answer_is_validated_against_its_schema() -> None:
    group = '{"title": "t", "summary": "s", "refs": ["r"]}'
    ok = f'```json\n{{"days": [{{"path": "episodes/d.md", "groups": [{group}]}}]}}\n```'
    assert parse_summary_answer(ok) == {"episodes/d.md": [SummaryGroup(title="t", summary="s", refs=["r"])]}
    for bad in (
        "no json here",
        '{"days": [{"path": "p", "groups": [{"title": "", "summary": "s", "refs": ["r"]}]}]}',
    ):
        with pytest.raises(InvalidAnswer):
            parse_summary_answer(bad)
    (system, user) = summary_messages(
        "ops", {"episodes/d.md": list(parse(day_file("d", entry("09:00", "x"))).entries)}
    )
    assert "Every entry must be in exactly one group" in system["content"] and user["content"].startswith(
        "## episodes/d.md\n[episodes/d.md:3] 09:00 Heartbeat | Trigger: Heartbeat | Decision: x"
    )


def test_a_day_the_model_summarised_badly_is_collapsed_deterministically_and_the_run_says_why() -> None:
    episodes = {
        f"episodes/2026-12-0{d}.md": day_file(
            f"2026-12-0{d}", *[entry(f"1{n}:00", DEPLOY[0]) for n in range(3)]
        )
        for d in (1, 2)
    }
    good = _groups("episodes/2026-12-01.md", episodes["episodes/2026-12-01.md"], ("Deploy checks", [0, 1, 2]))
    bad = _groups("episodes/2026-12-02.md", episodes["episodes/2026-12-02.md"], ("Deploy checks", [0]))
    result = weekly_plan(
        date(2026, 12, 7),
        ZONE,
        episodes,
        {},
        SETTINGS,
        {"episodes/2026-12-01.md": good, "episodes/2026-12-02.md": bad},
    )
    assert result.summarised_by_model == 1
    summaries = [op.op for op in result.ops if isinstance(op.op, AppendEpisode)]
    assert [s.decision for s in summaries] == ["Deploy checks: done", DEPLOY[0]]
    assert any(
        s.startswith("episodes/2026-12-02.md: the model's summary leaves out 2 entries") for s in result.skips
    )


def test_a_summarised_day_with_a_late_entry_is_not_summarised_again_over_its_archived_original() -> None:
    original = day_file("2026-12-01", *[entry(f"1{n}:00", DEPLOY[n % 2]) for n in range(4)])
    summary = summarise_day(date(2026, 12, 1), original, ZONE, 0.85)
    assert isinstance(summary, DaySummary)
    late = written("2026-12-01", summary) + "\n" + entry("23:00", DEPLOY[0]) + "\n"
    late += "\n" + entry("23:30", DEPLOY[1]) + "\n"
    episodes = {"episodes/2026-12-01.md": late}
    # Without knowing the original is archived, the plan would archive the file again (rejected).
    again = weekly_plan(date(2026, 12, 7), ZONE, episodes, {}, SETTINGS)
    assert [op.action for op in again.ops][:1] == ["compress"]
    plan = weekly_plan(date(2026, 12, 7), ZONE, episodes, {}, SETTINGS, archived={"episodes/2026-12-01.md"})
    assert [op.action for op in plan.ops if op.action in ("compress", "summary")] == []
    assert (
        "episodes/2026-12-01.md not summarised: it is a summary already (its original is in "
        "archive/episodes/2026-12-01.md); later entries stay as written"
    ) in plan.skips
    assert plan == weekly_plan(
        date(2026, 12, 7), ZONE, episodes, {}, SETTINGS, archived={"episodes/2026-12-01.md"}
    )
