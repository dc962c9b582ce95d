"""Can it learn? Daily consolidation through the running system (issue #13, acceptance 1 and 8).

A person corrects a draft; `anima consolidate` turns the correction into knowledge that cites the
conversation turn it came from, and the next request about the same client is answered with a
prompt that holds the lesson, found by priming's related-knowledge channel. With no model
configured, the deterministic fallback turns explicit lessons into knowledge and merges exact
duplicates.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import msgspec
import pytest
from nats.aio.client import Client
from tests.conftest import RunningSystem, scripted_config, start_system

from animas_contracts import MemoryOpApplied, SearchReply, SearchRequest
from animas_contracts.subjects import rpc_subject
from animas_core.anima_files import AnimaSpec, template_files
from animas_tools.animas_cli import creation_event
from animas_tools.publish import publish_change
from animas_tools.scripted_llm import ScriptedLLM, Turn

pytestmark = [pytest.mark.e2e, pytest.mark.nats, pytest.mark.slow]

CORRECTION = "Too casual. Tanaka-san is a client: always use formal business language."
LESSON = "Tanaka-san is a client: always use formal business language."
ACKNOWLEDGED = "Understood. I will write to Tanaka-san formally."
DAY = "2026-11-20"
"""The fallback's anima has its episodes on a fixed day, consolidated with --date."""
PRINTER = "The printer on floor 3 jams on A3 paper."
INVOICE_RULE = "Always attach the invoice PDF to the reminder"


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM() as server:
        yield server


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory, llm: ScriptedLLM) -> Iterator[RunningSystem]:
    running = start_system(tmp_path_factory.mktemp("learning") / "home")
    try:
        # Only the clerk has a model; "plain" has none, so its consolidation falls back.
        config = scripted_config(llm, animas=())
        config["animas"] = {"clerk": dict(config.pop("anima_defaults"))}
        running.configure(config)
        _create(running, "clerk", {})
        _create(running, "plain", _plain_files())
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


def _plain_files() -> dict[str, str]:
    entry = "\n## {t} {title}\n- Trigger: Heartbeat\n- Decision: {d}\n- Result: done\n- Lesson: {lesson}\n"
    episodes = f"# {DAY} Action Log\n" + "".join(
        [
            entry.format(t="09:00", title="Sent reminders", d="sent two reminders", lesson=INVOICE_RULE),
            entry.format(t="11:00", title="Printed the report", d="printed on floor 3", lesson="None"),
            entry.format(t="15:00", title="Sent reminders", d="sent one reminder", lesson=INVOICE_RULE),
            f"\n## 16:00 Printer\n- [IMPORTANT] {PRINTER}\n",
        ]
    )
    return {
        f"episodes/{DAY}.md": episodes,
        "knowledge/office.md": f"# Office\n\n- {PRINTER}\n",
    }


def _refs_of(text: str) -> list[str]:
    """The source references of the lines of the plain anima's episode file that hold ``text``."""
    lines = _plain_files()[f"episodes/{DAY}.md"].splitlines()
    return [f"episodes/{DAY}.md:{n}" for n, line in enumerate(lines, start=1) if text in line]


def _knowledge(system: RunningSystem, anima: str) -> dict[str, str]:
    root = system.home / "animas" / anima / "knowledge"
    return {str(p.relative_to(root.parent)): p.read_text() for p in sorted(root.rglob("*.md"))}


def _events(system: RunningSystem, anima: str, event_type: str) -> list[dict[str, Any]]:
    out = system.anima("events", "--anima", anima, "--type", event_type, "--json").stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_with_no_model_the_fallback_learns_explicit_lessons_and_merges_exact_duplicates(
    system: RunningSystem,
) -> None:
    before = _knowledge(system, "plain")
    out = system.anima("consolidate", "plain", "--date", DAY).stdout
    print(out)

    assert "decided fallback (no model configured)" in out
    assert "created 1, merged 1, superseded 0" in out
    after = _knowledge(system, "plain")
    new = {path: text for path, text in after.items() if path not in before}
    assert len(new) == 1, new
    (created,) = new.values()
    # The two entries that state the invoice rule are one lesson citing both lines.
    assert created.count(f"\n{INVOICE_RULE}\n") == 1
    assert re.findall(rf"- {DAY} (episodes/{DAY}\.md:\d+): ", created) == _refs_of(INVOICE_RULE)
    # The [IMPORTANT] line says what knowledge/office.md says already: merged, not a new file.
    office = after["knowledge/office.md"]
    assert office.count(PRINTER) == 2  # once in the text, once quoted under Sources
    assert _refs_of(PRINTER)[0] in office and "origin: consolidation" in office
    (finished,) = _events(system, "plain", "consolidation.finished")
    assert finished["method"] == "fallback" and finished["created"] == 1 and finished["merged"] == 1
    assert finished["skips"] and "state no explicit lesson" in finished["skips"][0]
    assert not _events(system, "plain", "llm.called"), "no model may be called without one configured"

    # The same day consolidated again by hand: everything is known already, nothing is written twice.
    again = system.anima("consolidate", "plain", "--date", DAY).stdout
    assert "created 0, merged 0, superseded 0, skipped 3" in again
    assert again.count("skipped: already known:") == 2
    assert _knowledge(system, "plain") == after


def _consolidation_answer(body: Mapping[str, Any]) -> Turn | None:
    """The clerk's model, asked to consolidate: it cites the correction as the prompt lists it."""
    prompt = json.dumps(body.get("messages", []), ensure_ascii=False)
    if "You consolidate the memory of clerk" not in prompt:
        return None
    user = body["messages"][-1]["content"]
    ref = re.search(r"^\[(state/conversations/[^\]]+)\] " + re.escape(CORRECTION), user, re.MULTILINE)
    assert ref is not None, user
    # The episode of the cycle that answered the correction: its Result line quotes the answer.
    episode = re.search(
        r"^\[(episodes/[^\]]+)\] - Result: Replied: " + re.escape(ACKNOWLEDGED), user, re.MULTILINE
    )
    assert episode is not None, user
    answer = {
        "decisions": [
            {
                "action": "create",
                "title": "Tanaka-san is a client",
                "content": LESSON,
                "citations": [
                    {"ref": ref.group(1), "quote": LESSON},
                    {"ref": episode.group(1), "quote": ACKNOWLEDGED},
                ],
            },
            {
                "action": "create",
                "title": "Tanaka-san likes jokes",
                "content": "Tanaka-san likes jokes.",
                "citations": [{"ref": ref.group(1), "quote": "Tanaka-san likes jokes"}],
            },
        ]
    }
    return Turn(text=json.dumps(answer))


def test_can_it_learn_a_correction_becomes_knowledge_that_priming_brings_back(
    system: RunningSystem, llm: ScriptedLLM
) -> None:
    llm.respond_with(_consolidation_answer)
    llm.load(
        [
            {"text": "Hey Tanaka! The meeting is on, see ya :)"},
            {"text": ACKNOWLEDGED},
            {"text": "Dear Tanaka-san, please find the invoice attached. Kind regards."},
        ]
    )
    assert (
        system.chat("clerk", "Draft a reply to Tanaka-san about the meeting", sender="yamada").status_code
        == 200
    )
    assert system.chat("clerk", CORRECTION, sender="yamada").status_code == 200
    day = _day_of_turn(system.home, "clerk", CORRECTION)

    out = system.anima("consolidate", "clerk", "--date", day).stdout
    print(out)
    assert "decided by the model openai/scripted" in out and "created 1," in out
    assert "rejected: create \"Tanaka-san likes jokes\": the quote 'Tanaka-san likes jokes' is not in" in out

    learned = [text for text in _knowledge(system, "clerk").values() if LESSON in text]
    assert len(learned) == 1
    assert "[IMPORTANT]" not in learned[0]
    assert re.search(rf'- {day} state/conversations/yamada\.json#[\w-]+: "{re.escape(LESSON)}"', learned[0])
    assert re.search(rf'- {day} episodes/{day}\.md:\d+: "{re.escape(ACKNOWLEDGED)}"', learned[0])
    (called,) = [e for e in _events(system, "clerk", "llm.called") if e["producer"] == "consolidator"]
    assert called["purpose"] == "consolidation" and called["error"] is None
    _wait_searchable(system, "clerk", LESSON)

    # Another person asks about the same client: their conversation has never seen the correction.
    reply = system.chat("clerk", "Reply to Tanaka-san about the invoice", sender="sato")
    assert reply.status_code == 200
    system_prompt = _last_system_prompt(llm, "Reply to Tanaka-san about the invoice")
    print("---- the prompt of the next request ----\n" + system_prompt)
    related = system_prompt.split("## Related knowledge", 1)[1].split("\n## ", 1)[0]
    assert LESSON in related and "(knowledge/tanaka-san-is-a-client.md" in related


def _day_of_turn(home: Path, anima: str, text: str) -> str:
    """The (UTC, the system's default zone) day a conversation turn was said: no wall clock in the test."""
    for path in (home / "animas" / anima / "state" / "conversations").glob("*.json"):
        for turn in json.loads(path.read_text())["turns"]:
            if turn["text"] == text:
                return str(turn["ts"])[:10]
    raise AssertionError(f"no turn {text!r} stored for {anima}")


def _search(system: RunningSystem, anima: str, query: str) -> SearchReply:
    async def ask(nc: Client) -> SearchReply:
        request = msgspec.json.encode(SearchRequest(query=query, scope="knowledge"))
        msg = await nc.request(rpc_subject("priming", "search", anima), request, timeout=30)
        return msgspec.json.decode(msg.data, type=SearchReply)

    return system.admin(ask)


def _wait_searchable(system: RunningSystem, anima: str, text: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if any(text in hit.snippet for hit in _search(system, anima, text).hits):
            return
        time.sleep(0.5)
    raise AssertionError(f"{text!r} was never indexed for {anima}")


def _last_system_prompt(llm: ScriptedLLM, message: str) -> str:
    for request in reversed(llm.requests):
        messages = request["body"].get("messages", [])
        if any(m.get("role") == "user" and message in json.dumps(m, ensure_ascii=False) for m in messages):
            system = [m["content"] for m in messages if m.get("role") == "system"]
            return str(system[0]) if system else ""
    raise AssertionError(f"no model request for {message!r}")
