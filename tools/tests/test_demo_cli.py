"""``anima demo``: its organization, its config and the rules of its scripted model (no system started)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from animas_core.anima_files import AnimaSpec, template_files
from animas_core.config import ConfigError, load_config
from animas_core.home import Home
from animas_tools import demo_cli
from animas_tools.demo_cli import (
    DEMO_TASK,
    FINDINGS,
    INSTRUCTION,
    MANAGER,
    MEMORY_PATH,
    ORGANIZATION,
    RESEARCHER,
    demo_config,
    demo_responder,
)


def _body(anima: str, woke: str, *results: str) -> dict[str, Any]:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": f"You are {anima}, an anima of this organization."},
        {"role": "user", "content": woke},
    ]
    if results:
        messages.append({"role": "assistant", "content": "", "tool_calls": [{"id": "call_1"}]})
    messages += [{"role": "tool", "tool_call_id": f"call_{i}", "content": r} for i, r in enumerate(results)]
    return {"model": "scripted", "messages": messages}


def test_the_organization_is_a_manager_with_two_specialists_under_it() -> None:
    bosses = {m.name: m.supervisor for m in ORGANIZATION}
    assert bosses == {MANAGER: None, RESEARCHER: MANAGER, "yui": MANAGER}
    for member in ORGANIZATION:  # every template exists and takes the supervisor
        spec = AnimaSpec(name=member.name, role=member.template, supervisor=member.supervisor)
        assert template_files(spec, member.template)


def test_the_config_puts_every_anima_on_the_scripted_model(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(demo_config("http://127.0.0.1:9/v1")))
    config = load_config(path)
    assert set(config.animas) == {m.name for m in ORGANIZATION}
    assert config.anima_defaults.model == "openai/scripted"
    assert config.credentials["scripted"].base_url == "http://127.0.0.1:9/v1"


def test_the_manager_delegates_the_request_and_waits_then_integrates_the_report() -> None:
    first = demo_responder(_body(MANAGER, DEMO_TASK))
    [call] = first.tool_calls
    assert call.name == "delegate_task"
    assert isinstance(call.arguments, dict)
    assert call.arguments["to"] == RESEARCHER
    assert call.arguments["instruction"] == INSTRUCTION
    assert call.arguments["wait"] is True
    report = f"Report from {RESEARCHER} (done):\n{FINDINGS}"
    final = demo_responder(_body(MANAGER, DEMO_TASK, report))
    assert not final.tool_calls
    assert final.text.endswith(f"From {RESEARCHER}: {FINDINGS}")


def test_the_specialist_writes_its_findings_to_memory_then_answers() -> None:
    task = f"Task `t-0123abcd` from {MANAGER}. When you are done, call `report_task`.\n\n{INSTRUCTION}"
    first = demo_responder(_body(RESEARCHER, task))
    [call] = first.tool_calls
    assert call.name == "write_memory_file"
    assert isinstance(call.arguments, dict)
    assert call.arguments["path"] == MEMORY_PATH
    assert "Onboarding" in call.arguments["content"]
    assert demo_responder(_body(RESEARCHER, task, "wrote knowledge/onboarding-feedback.md")).text == FINDINGS


def test_other_requests_get_a_short_answer() -> None:
    assert demo_responder(_body(MANAGER, "Heartbeat. Your checklist:\n- x")).text == demo_cli.HEARTBEAT_NOTE
    assert "I am yui" in demo_responder(_body("yui", "hello")).text
    assert demo_responder({"messages": []}).text == "OK."


def test_a_home_in_use_is_refused_before_anything_starts(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    said: list[str] = []
    with pytest.raises(ConfigError, match="not a fresh home"):
        asyncio.run(demo_cli.run_demo(Home(tmp_path), port=0, open_browser=False, say=said.append))
    assert said == []


def test_a_browser_opens_only_where_there_is_a_display() -> None:
    assert demo_cli.can_open_browser(":0", "linux")
    assert demo_cli.can_open_browser(None, "darwin")
    assert not demo_cli.can_open_browser(None, "linux")  # a server's terminal: print the address only
    assert not demo_cli.can_open_browser("", "linux")
