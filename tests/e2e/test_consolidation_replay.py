"""Re-consolidation diff: `anima replay consolidate` (issue #13, item 7 and acceptance 7).

A day is consolidated by the anima's (scripted) model through the running system; the replay
re-runs that day offline from the recording alone and reproduces the knowledge it wrote byte
for byte. With the consolidation prompt template changed in-process, the same recording
replays with the prompt's diff shown, and the recorded answer still applies.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import RunningSystem, scripted_config, start_system

from animas_consolidator.domain import prompt
from animas_consolidator.replay import knowledge_diff, render
from animas_consolidator.replay_runs import recorded_runs, replay
from animas_contracts import MemoryOpApplied, decode_event
from animas_core.anima_files import AnimaSpec, template_files
from animas_tools.animas_cli import creation_event
from animas_tools.consolidation_replay import consolidation_events
from animas_tools.publish import publish_change
from animas_tools.scripted_llm import ScriptedLLM, Turn

pytestmark = [pytest.mark.e2e, pytest.mark.nats, pytest.mark.slow]

ANIMA = "keeper"
DAY = "2026-11-20"
"""The day consolidated ("yesterday"): fixed, and named with --date, so no wall clock is read."""
RULE = "Always attach the invoice PDF to the reminder"
PRINTER = "The printer on floor 3 jams on A3 paper."
EPISODES = (
    f"# {DAY} Action Log\n\n## 09:00 Sent reminders\n- Trigger: Heartbeat\n- Decision: sent two reminders\n"
    f"- Result: done\n- Lesson: {RULE}\n\n## 16:00 Printer\n- Result: {PRINTER} Used A4 instead.\n"
)
OFFICE = "# Office\n\n- The kitchen closes at 18:00.\n"
LEDGER = "ledger"
"""A second anima, consolidated on two days in a row: the replay chains them."""
NEXT_DAY = "2026-11-21"
NOON = "Send the invoice reminder before noon"
NEXT_EPISODES = (
    f"# {NEXT_DAY} Action Log\n\n## 13:00 Sent reminders\n- Trigger: Heartbeat\n"
    "- Decision: sent one reminder\n"
    f"- Result: the client had already left\n- Lesson: {NOON}\n"
)


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM() as server:
        yield server


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory, llm: ScriptedLLM) -> Iterator[RunningSystem]:
    running = start_system(tmp_path_factory.mktemp("replay-consolidate") / "home")
    try:
        config = scripted_config(llm, animas=(ANIMA, LEDGER))
        running.configure(config)
        _create(running, ANIMA, {f"episodes/{DAY}.md": EPISODES, "knowledge/office.md": OFFICE})
        _create(
            running,
            LEDGER,
            {
                f"episodes/{DAY}.md": EPISODES,
                f"episodes/{NEXT_DAY}.md": NEXT_EPISODES,
                "knowledge/office.md": OFFICE,
            },
        )
        yield running
    finally:
        running.stop()


def _create(system: RunningSystem, name: str, extra: dict[str, str]) -> None:
    files = template_files(AnimaSpec(name=name, role="general"), "general")
    files.update(extra)
    answer = system.admin(
        lambda nc: publish_change(nc, creation_event(name, files, "template:general"), timeout_s=60)
    )
    assert isinstance(answer, MemoryOpApplied), answer


def _ref(text: str, day: str = DAY, episodes: str = EPISODES) -> str:
    number = next(n for n, line in enumerate(episodes.splitlines(), start=1) if text in line)
    return f"episodes/{day}.md:{number}"


def _answer(body: Mapping[str, Any]) -> Turn | None:
    """The model asked to consolidate: the first day one new file and one merge, the next a merge."""
    prompt_text = json.dumps(body.get("messages", []))
    if "You consolidate the memory of " not in prompt_text:
        return None
    if f"after its day {NEXT_DAY}" in prompt_text:
        merge = {
            "action": "merge",
            "path": "knowledge/invoice-reminders.md",
            "content": NOON + ".",
            "citations": [{"ref": _ref(NOON, NEXT_DAY, NEXT_EPISODES), "quote": NOON}],
        }
        return Turn(text=json.dumps({"decisions": [merge]}))
    decisions = [
        {
            "action": "create",
            "title": "Invoice reminders",
            "content": RULE + ".",
            "citations": [{"ref": _ref(RULE), "quote": RULE}],
        },
        {
            "action": "merge",
            "path": "knowledge/office.md",
            "content": f"- {PRINTER}",
            "citations": [{"ref": _ref(PRINTER), "quote": PRINTER}],
        },
    ]
    return Turn(text=json.dumps({"decisions": decisions}))


def _knowledge(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes() for p in sorted((root / "knowledge").rglob("*.md"))
    }


def test_a_consolidated_day_replays_byte_for_byte_and_a_changed_prompt_is_diffed(
    system: RunningSystem, llm: ScriptedLLM, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm.respond_with(_answer)
    out = system.anima("consolidate", ANIMA, "--date", DAY).stdout
    print(out)
    assert "decided by the model openai/scripted" in out and "created 1, merged 1" in out
    anima_dir = system.home / "animas" / ANIMA
    today = _knowledge(anima_dir)
    assert PRINTER in today["knowledge/office.md"].decode()

    shadow = tmp_path / "shadow"
    report = system.anima("replay", "consolidate", ANIMA, "--from", DAY, "--shadow", str(shadow)).stdout
    print(report)
    assert "replayed 1 daily run(s) with the current build" in report
    assert "prompt: identical to the recording" in report
    assert "decisions: identical to the recording (2)" in report
    assert "knowledge: identical to the anima's knowledge today (2 file(s) the runs wrote)" in report
    replayed = _knowledge(shadow)
    assert set(replayed) == {"knowledge/office.md", "knowledge/invoice-reminders.md"}
    assert all(replayed[path] == today[path] for path in replayed)  # byte for byte

    # The same recording, replayed in-process by a build whose consolidation prompt says more.
    raw = system.admin(lambda nc: consolidation_events(nc.jetstream(), ANIMA))
    runs, left_out = recorded_runs(
        [decode_event(line) for line in raw], ANIMA, date.fromisoformat(DAY), date.fromisoformat(DAY)
    )
    assert len(runs) == 1 and not left_out
    monkeypatch.setattr(prompt, "SYSTEM", prompt.SYSTEM + "\nNever keep what a colleague said in jest.")
    changed = replay(runs)
    (run,) = changed.runs
    assert "+Never keep what a colleague said in jest." in run.prompt_diff
    assert run.prompt_note == "differs from the recording"
    assert run.replayed_keys == run.recorded_keys  # the recorded answer still applies
    text_today = {path: data.decode() for path, data in today.items()}
    assert all(not diff for _, diff in knowledge_diff(changed, text_today))
    printed = render(changed, left_out, knowledge_diff(changed, text_today))
    assert "prompt: differs from the recording" in printed

    # Knowledge edited after the run no longer matches what the replay produces: the diff says how.
    edited = {**text_today, "knowledge/office.md": text_today["knowledge/office.md"] + "- Edited by hand.\n"}
    diffs = dict(knowledge_diff(changed, edited))
    assert "-- Edited by hand." in diffs["knowledge/office.md"]
    assert "knowledge: 1 of 2 file(s) the runs wrote differ from today's" in render(
        changed, left_out, list(diffs.items())
    )


def test_replay_consolidate_says_so_when_nothing_is_recorded(system: RunningSystem, tmp_path: Path) -> None:
    result = system.anima("replay", "consolidate", ANIMA, "--from", "2026-01-01", check=False)
    assert result.returncode == 1
    assert "no daily consolidation of keeper is recorded for those days" in result.stderr
    bad = system.anima(
        "replay", "consolidate", ANIMA, "--from", "2026-11-20", "--to", "2026-11-19", check=False
    )
    assert bad.returncode == 1 and "is before --from" in bad.stderr


def test_days_in_a_row_replay_in_order_each_on_the_knowledge_the_one_before_wrote(
    system: RunningSystem, llm: ScriptedLLM, tmp_path: Path
) -> None:
    llm.respond_with(_answer)
    for day in (DAY, NEXT_DAY):
        out = system.anima("consolidate", LEDGER, "--date", day).stdout
        assert "decided by the model openai/scripted" in out, out
    today = _knowledge(system.home / "animas" / LEDGER)
    assert NOON in today["knowledge/invoice-reminders.md"].decode()

    shadow = tmp_path / "shadow"
    args = ("--from", DAY, "--to", NEXT_DAY, "--shadow", str(shadow))
    report = system.anima("replay", "consolidate", LEDGER, *args).stdout
    print(report)
    assert "replayed 2 daily run(s) with the current build" in report
    assert report.count("prompt: identical to the recording") == 2
    assert "knowledge: identical to the anima's knowledge today (2 file(s) the runs wrote)" in report
    replayed = _knowledge(shadow)
    assert replayed == {path: today[path] for path in replayed} and len(replayed) == 2
