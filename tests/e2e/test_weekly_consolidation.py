"""Weekly consolidation through the running system (issue #13, acceptance 2).

A week of 50 near-identical episode entries ("checked the deploy logs, all green", in small
variations), appended through memory-writer as a cycle appends them, spread over seven days.
After each day's daily consolidation and then the weekly run (no model configured: the
deterministic path), the routine is one procedure citing every entry, not fifty; two
near-duplicate knowledge files are one; the episode files at least ``episode_summary_after_days``
old are summaries, their originals in ``archive/episodes/``, and an ``[IMPORTANT]`` entry is
still there word for word. With the scripted LLM as the anima's model, the summaries are the
model's words (its JSON answer validated), and the call is recorded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from nats.aio.client import Client
from tests.conftest import RunningSystem, scripted_config, start_system

from animas_contracts import AppendEpisode, MemoryOpApplied, MemoryOpRequested, uuid7
from animas_core.anima_files import AnimaSpec, template_files
from animas_tools.animas_cli import creation_event
from animas_tools.publish import publish_change
from animas_tools.scripted_llm import ScriptedLLM, Turn

pytestmark = [pytest.mark.e2e, pytest.mark.nats, pytest.mark.slow]

ANIMA = "ops"
SCRIBE = "scribe"
LAST_DAY = date(2026, 11, 30)
DAYS = [LAST_DAY - timedelta(days=back) for back in range(6, -1, -1)]
VARIANTS = (
    "checked the deploy logs, all green",
    "checked the deploy logs again, all green",
    "checked deploy logs: all green",
    "checked the deploy logs, all green.",
)
IMPORTANT = "[IMPORTANT] never restart the database during business hours"
DUPLICATES = {
    "knowledge/deploy-checks.md": "# Deploy checks\n\nThe deploy logs are checked every morning.\n",
    "knowledge/deploy-logs.md": (
        "# Deploy checks\n\nThe deploy logs are checked every morning!\n\nBefore 9.\n"
    ),
}


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM() as server:
        yield server


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory, llm: ScriptedLLM) -> Iterator[RunningSystem]:
    running = start_system(tmp_path_factory.mktemp("weekly") / "home")
    try:
        # "ops" has no model (the deterministic path); "scribe" has the scripted one.
        config = scripted_config(llm, animas=())
        config["animas"] = {SCRIBE: dict(config.pop("anima_defaults"))}
        running.configure(config | {"consolidation": {"episode_summary_after_days": 3}})
        files = template_files(AnimaSpec(name=ANIMA, role="general"), "general") | DUPLICATES
        created = running.admin(
            lambda nc: publish_change(nc, creation_event(ANIMA, files, "template:general"))
        )
        assert isinstance(created, MemoryOpApplied), created
        yield running
    finally:
        running.stop()


def _appends() -> list[AppendEpisode]:
    """50 routine entries over the seven days (7 or 8 a day) and one [IMPORTANT] entry on the second."""
    entries = []
    for n in range(50):
        day, slot = DAYS[n % 7], n // 7
        entries.append(
            AppendEpisode(
                title="Heartbeat",
                at=datetime(day.year, day.month, day.day, 1 + slot, 0, tzinfo=UTC),
                trigger="Heartbeat",
                decision=VARIANTS[n % len(VARIANTS)],
                result="nothing to do",
            )
        )
    important_day = DAYS[1]
    outage = datetime(important_day.year, important_day.month, important_day.day, 9, 30, tzinfo=UTC)
    entries.append(
        AppendEpisode(title="Outage", at=outage, trigger="Alert", decision=IMPORTANT, result="waited")
    )
    return entries


async def _append_all(nc: Client) -> None:
    for op in _appends():  # one after the other, as cycles append them
        event_id = uuid7()
        request = MemoryOpRequested(id=event_id, anima=ANIMA, correlation_id=event_id, producer="test", op=op)
        answer = await publish_change(nc, request)
        assert isinstance(answer, MemoryOpApplied), answer


def _events(system: RunningSystem, event_type: str) -> list[dict[str, Any]]:
    out = system.anima("events", "--anima", ANIMA, "--type", event_type, "--json").stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_a_week_of_near_duplicate_episodes_ends_as_one_routine_and_summaries(system: RunningSystem) -> None:
    system.admin(_append_all)
    root = system.home / "animas" / ANIMA
    originals = {day: (root / f"episodes/{day}.md").read_text() for day in DAYS}
    assert sum(text.count("\n## ") for text in originals.values()) == 51

    for day in DAYS:
        system.anima("consolidate", ANIMA, "--date", day.isoformat())
    out = system.anima("consolidate", ANIMA, "--weekly", "--date", LAST_DAY.isoformat()).stdout
    print(out)

    knowledge = {p.name: p.read_text() for p in sorted((root / "knowledge").glob("*.md"))}
    print("knowledge files:", sorted(knowledge))
    assert len(knowledge) <= 3, sorted(knowledge)
    assert not [name for name, text in knowledge.items() if "checked the deploy logs" in text.casefold()]
    # The routine is one procedure, as trusted as any freshly distilled one, citing every entry.
    procedures = {p.name: p.read_text() for p in sorted((root / "procedures").glob("*.md"))}
    print("procedures:", sorted(procedures))
    (routine,) = procedures.values()
    assert "# Routine: checked the deploy logs" in routine and "confidence: 0.40" in routine
    assert "Done 50 times between 2026-11-24 and 2026-11-30" in routine
    cited = re.findall(
        r"^- 2026-11-30 ((?:archive/)?episodes/2026-11-\d\d\.md):(\d+): ", routine, re.MULTILINE
    )
    assert len(cited) == 50
    for path, line in cited:  # every source line is still where it is cited, in the archive for old days
        assert "deploy logs" in (root / path).read_text().splitlines()[int(line) - 1], (path, line)
    # The two near-duplicates are one file keeping both texts; the other is archived, not deleted.
    assert "deploy-logs.md" not in knowledge and (root / "archive/knowledge/deploy-logs.md").exists()
    assert "Before 9." in knowledge["deploy-checks.md"]
    assert "merged_from: knowledge/deploy-logs.md" in knowledge["deploy-checks.md"]

    old, recent = DAYS[:4], DAYS[4:]  # at least 3 days before the run's day, and the rest
    for day in old:
        summary = (root / f"episodes/{day}.md").read_text()
        assert summary.count("\n## ") == (2 if day == DAYS[1] else 1), summary
        assert re.search(r"\(summary of [78] entries, 01:00-0[78]:00\)", summary), summary
        assert (root / f"archive/episodes/{day}.md").read_text() == originals[day]
    important = originals[DAYS[1]].split("\n## 09:30 Outage\n", 1)[1]
    assert f"\n## 09:30 Outage\n{important}" in (root / f"episodes/{DAYS[1]}.md").read_text()
    for day in recent:
        assert (root / f"episodes/{day}.md").read_text() == originals[day]

    (weekly,) = [e for e in _events(system, "consolidation.finished") if e["kind"] == "weekly"]
    assert (weekly["created"], weekly["merged"], weekly["summarised"]) == (0, 1, 4)
    assert weekly["procedures"] == 1
    assert "created 0, merged 1, superseded 0, summarised 4" in out


def test_a_second_weekly_run_changes_nothing(system: RunningSystem) -> None:
    root = system.home / "animas" / ANIMA
    before = {p: p.read_text() for p in sorted(root.rglob("*.md")) if "activity_log" not in str(p)}
    out = system.anima("consolidate", ANIMA, "--weekly", "--date", LAST_DAY.isoformat()).stdout
    print(out)
    assert "created 0, merged 0, superseded 0, summarised 0" in out
    assert "is a summary already" in out
    after = {p: p.read_text() for p in sorted(root.rglob("*.md")) if "activity_log" not in str(p)}
    assert after == before


def test_a_late_entry_for_a_summarised_day_stays_and_the_archived_original_is_untouched(
    system: RunningSystem,
) -> None:
    root, day = system.home / "animas" / ANIMA, DAYS[0]
    archived = (root / f"archive/episodes/{day}.md").read_text()

    async def late(nc: Client) -> None:
        for hour in (22, 23):  # two alike entries: something a summary would collapse
            at = datetime(day.year, day.month, day.day, hour, 0, tzinfo=UTC)
            op = AppendEpisode(
                title="Heartbeat", at=at, trigger="Heartbeat", decision=VARIANTS[0], result="ok"
            )
            event_id = uuid7()
            request = MemoryOpRequested(
                id=event_id, anima=ANIMA, correlation_id=event_id, producer="t", op=op
            )
            assert isinstance(await publish_change(nc, request), MemoryOpApplied)

    system.admin(late)
    with_late = (root / f"episodes/{day}.md").read_text()
    out = system.anima("consolidate", ANIMA, "--weekly", "--date", LAST_DAY.isoformat()).stdout
    print(out)
    assert "summarised 0" in out and not re.search(r"\b[1-9]\d* rejected", out), out
    assert f"episodes/{day}.md not summarised: it is a summary already (its original is in" in out
    assert (root / f"episodes/{day}.md").read_text() == with_late
    assert (root / f"archive/episodes/{day}.md").read_text() == archived
    # The stream alone rebuilds the same files: the late entries where they were, the original archived.
    print(system.anima("replay", "rebuild", "--anima", ANIMA).stdout)
    assert (root / f"episodes/{day}.md").read_text() == with_late
    assert (root / f"archive/episodes/{day}.md").read_text() == archived


def test_nothing_of_the_week_is_lost_from_the_stream(system: RunningSystem) -> None:
    appended = [e for e in _events(system, "memory.op.requested") if e["op"]["kind"] == "episode.append"]
    decisions = {e["op"]["decision"] for e in appended if e["producer"] == "test"}
    assert decisions == {*VARIANTS, IMPORTANT}


def _summaries_by_the_model(body: Mapping[str, Any]) -> Turn | None:
    """The scribe's model asked for summaries: one group per file, citing every listed entry."""
    messages = body.get("messages", [])
    if not messages or "You summarise old episode logs of scribe" not in str(messages[0].get("content")):
        return None
    days: dict[str, list[str]] = {}
    for ref in re.findall(r"^\[([^\]]+)\]", messages[-1]["content"], re.MULTILINE):
        days.setdefault(ref.rsplit(":", 1)[0], []).append(ref)
    groups = [
        {"title": "Deploy watch", "summary": "The deploy logs stayed green.", "refs": refs}
        for refs in days.values()
    ]
    return Turn(
        text=json.dumps({"days": [{"path": p, "groups": [g]} for p, g in zip(days, groups, strict=True)]})
    )


def test_with_a_model_old_episode_files_are_summarised_in_its_words(
    system: RunningSystem, llm: ScriptedLLM
) -> None:
    old = DAYS[:2]
    entries = "".join(
        f"\n## 0{n}:00 Heartbeat\n- Trigger: Heartbeat\n- Decision: {VARIANTS[n]}\n"
        "- Result: ok\n- Lesson: None\n"
        for n in range(1, 4)
    )
    files = template_files(AnimaSpec(name=SCRIBE, role="general"), "general")
    files |= {f"episodes/{day}.md": f"# {day} Action Log\n{entries}" for day in old}
    created = system.admin(lambda nc: publish_change(nc, creation_event(SCRIBE, files, "template:general")))
    assert isinstance(created, MemoryOpApplied), created
    llm.respond_with(_summaries_by_the_model)

    out = system.anima("consolidate", SCRIBE, "--weekly", "--date", LAST_DAY.isoformat()).stdout
    print(out)
    assert "decided by the model openai/scripted" in out and "summarised 2" in out
    root = system.home / "animas" / SCRIBE
    for day in old:
        summary = (root / f"episodes/{day}.md").read_text()
        assert "## 01:00 Deploy watch (summary of 3 entries, 01:00-03:00)" in summary
        assert "- Decision: The deploy logs stayed green." in summary
        assert (root / f"archive/episodes/{day}.md").read_text() == files[f"episodes/{day}.md"]
    out = system.anima("events", "--anima", SCRIBE, "--type", "llm.called", "--json").stdout
    (called,) = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert called["producer"] == "consolidator" and called["purpose"] == "consolidation"
