"""Identity grows only through consolidation (issue #13 item 6, acceptance 6), through `anima up`.

The clerk's model (scripted) answers its daily consolidation with a revision of identity.md that
cites the day. Three changed lines are applied at once as ``identity.revised`` by consolidation;
a rewrite of the whole identity is refused, recorded as ``identity.proposed``, and applied only
when a person approves it with ``anima identity clerk --approve ID``. agent-runner's NATS user
still cannot publish ``identity.revised`` at all.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

import nats
import pytest
from nats.aio.client import Client
from tests.conftest import RunningSystem, connect_as, scripted_config, start_system

from animas_contracts import AnimaCreated, IdentityRevised, MemoryOpApplied, encode_event, uuid7
from animas_contracts.subjects import ACTIVITY_STREAM, HEADER_EVENT_TYPE, HEADER_MSG_ID, activity_subject
from animas_core.anima_files import AnimaSpec, template_files
from animas_tools.animas_cli import creation_event
from animas_tools.nats_server import load_or_create_users
from animas_tools.publish import Answer, publish_change
from animas_tools.scripted_llm import ScriptedLLM, Turn

pytestmark = [pytest.mark.e2e, pytest.mark.nats, pytest.mark.slow]

SMALL_DAY, LARGE_DAY = "2026-11-20", "2026-11-21"
LESSON = "people here want every client letter written formally"
GROWN = ["## Grown", "- I write to clients formally.", "- I say so when a draft is too casual."]
REWRITE = "# Identity: clerk\n\nA formal correspondence assistant, nothing else.\n"


def _episode(day: str) -> str:
    return (
        f"# {day} Action Log\n\n## 10:00 Draft corrected\n- Trigger: Message received\n- Lesson: {LESSON}\n"
    )


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM() as server:
        yield server


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory, llm: ScriptedLLM) -> Iterator[RunningSystem]:
    running = start_system(tmp_path_factory.mktemp("identity") / "home")
    try:
        # Only the clerk has a model; "plain" has none, so its consolidation falls back.
        config = scripted_config(llm, animas=())
        config["animas"] = {"clerk": dict(config.pop("anima_defaults"))}
        running.configure(config)
        for name in ("clerk", "plain"):
            files = template_files(AnimaSpec(name=name, role="general"), "general")
            files.update({f"episodes/{day}.md": _episode(day) for day in (SMALL_DAY, LARGE_DAY)})
            _create(running, creation_event(name, files, "template:general"))
        llm.respond_with(_consolidation_answer)
        yield running
    finally:
        running.stop()


def _create(system: RunningSystem, event: AnimaCreated) -> None:
    async def publish(nc: Client) -> Answer:
        return await publish_change(nc, event, timeout_s=60)

    answer = system.admin(publish)
    assert isinstance(answer, MemoryOpApplied), answer


def _consolidation_answer(body: Mapping[str, Any]) -> Turn | None:
    """The clerk's model: on the small day it adds three lines, on the large day it rewrites all."""
    messages = body.get("messages", [])
    if "You consolidate the memory of clerk" not in json.dumps(messages, ensure_ascii=False):
        return None
    user = messages[-1]["content"]
    ref = re.search(r"^\[(episodes/(\d{4}-\d\d-\d\d)\.md:\d+)\] - Lesson: ", user, re.MULTILINE)
    assert ref is not None, user
    current = user.split("## identity.md now\n", 1)[1]  # the prompt shows identity.md as it is
    content = (
        current.rstrip("\n") + "\n\n" + "\n".join(GROWN) + "\n" if ref.group(2) == SMALL_DAY else REWRITE
    )
    identity = {
        "content": content,
        "reason": "corrected for tone",
        "citations": [{"ref": ref.group(1), "quote": LESSON}],
    }
    return Turn(
        text=json.dumps({"decisions": [{"action": "skip", "reason": "nothing else"}], "identity": identity})
    )


def _identity(system: RunningSystem) -> str:
    return (system.home / "animas" / "clerk" / "identity.md").read_text()


def _events(system: RunningSystem, event_type: str) -> list[dict[str, Any]]:
    out = system.anima("events", "--anima", "clerk", "--type", event_type, "--json").stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_a_three_line_change_is_applied_and_a_rewrite_waits_for_approval(system: RunningSystem) -> None:
    before = _identity(system)
    small = system.anima("consolidate", "clerk", "--date", SMALL_DAY).stdout
    print(small)
    assert "identity: revised by consolidation: 3 changed lines (limit 3)" in small
    grown = _identity(system)
    assert grown.startswith(before.rstrip("\n")) and all(line in grown for line in GROWN)
    (revised,) = _events(system, "identity.revised")
    assert (revised["author"], revised["producer"]) == ("consolidation", "consolidator")

    large = system.anima("consolidate", "clerk", "--date", LARGE_DAY).stdout
    print(large)
    (proposal,) = _events(system, "identity.proposed")
    assert f"identity: proposed {proposal['id']}: " in large and "refused for now" in large
    assert proposal["content"] == REWRITE and proposal["changed_lines"] > 3 and proposal["limit"] == 3
    assert proposal["citations"] == [f"episodes/{LARGE_DAY}.md:5: {LESSON}"]
    assert _identity(system) == grown, "a rewrite is never applied without a person"
    listed = system.anima("events", "--anima", "clerk", "--type", "identity.proposed").stdout
    assert f"anima identity clerk --approve {proposal['id']}" in listed

    approved = system.anima("identity", "clerk", "--approve", proposal["id"]).stdout
    print(approved)
    assert f"proposal {proposal['id']} approved by operator" in approved
    assert _identity(system) == REWRITE
    assert [e["author"] for e in _events(system, "identity.revised")] == ["consolidation", "operator"]
    again = system.anima("identity", "clerk", "--approve", proposal["id"]).stdout
    assert "was approved already" in again and len(_events(system, "identity.revised")) == 2

    unknown = system.anima("identity", "clerk", "--approve", "no-such-proposal", check=False)
    assert unknown.returncode != 0 and "clerk has no identity proposal 'no-such-proposal'" in unknown.stderr


def test_the_fallback_proposes_no_identity_and_says_so(system: RunningSystem) -> None:
    before = (system.home / "animas" / "plain" / "identity.md").read_text()
    out = system.anima("consolidate", "plain", "--date", SMALL_DAY).stdout
    assert "decided fallback (no model configured)" in out
    assert "identity: no identity proposal: the deterministic fallback never revises identity" in out
    assert (system.home / "animas" / "plain" / "identity.md").read_text() == before
    listed = system.anima("events", "--anima", "plain", "--type", "consolidation.finished", "--json").stdout
    (finished,) = [json.loads(line) for line in listed.splitlines() if line.strip()]
    assert finished["identity"].startswith("no identity proposal")


def test_agent_runner_still_cannot_publish_identity_revised(system: RunningSystem) -> None:
    users = load_or_create_users(system.home / "nats" / "users.json")
    event_id = uuid7()
    forged = IdentityRevised(
        id=event_id,
        anima="clerk",
        correlation_id=event_id,
        producer="agent-runner",
        content="# mine\n",
        author="x",
    )

    async def publish() -> None:
        nc = await connect_as(system.info["nats_url"], users["agent-runner"])
        try:
            await nc.jetstream().publish(
                activity_subject("clerk", "identity.revised"),
                encode_event(forged),
                stream=ACTIVITY_STREAM,
                timeout=5,
                headers={HEADER_MSG_ID: forged.id, HEADER_EVENT_TYPE: forged.event_type},
            )
        finally:
            await nc.close()

    before = _identity(system)
    with pytest.raises((nats.errors.Error, TimeoutError)):
        asyncio.run(publish())
    assert _identity(system) == before
    assert event_id not in {e["id"] for e in _events(system, "identity.revised")}
