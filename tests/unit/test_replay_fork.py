"""``replay fork``: a recorded cycle run again with another model over real HTTP; no tool runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr
from tests.recorded_cycle import record_cycle

from animas_agent_runner.replay import NOT_RECORDED
from animas_contracts import CycleStarted, encode_event
from animas_core.config import AnimaModelConfig, AnimaWorksConfig, Credential, write_config
from animas_tools.scripted_llm import ScriptedLLM

REPLAYER = (sys.executable, "-m", "animas_agent_runner.replay_command")


@pytest.mark.parametrize(
    ("model", "wire_model", "base"),
    [
        ("openai/scripted-fork", "scripted-fork", "openai_base"),  # litellm
        ("anthropic/claude-fork", "claude-fork", "anthropic_base"),  # the Anthropic SDK (mode anthropic)
    ],
)
async def test_a_fork_calls_the_other_model_and_answers_unrecorded_tools_with_an_error(
    tmp_path: Path, scripted_llm: ScriptedLLM, model: str, wire_model: str, base: str
) -> None:
    events = (await record_cycle(tmp_path / "record")).events
    cycle_id = next(e.id for e in events if isinstance(e, CycleStarted))
    config = tmp_path / "config.json"
    write_config(
        config,
        AnimaWorksConfig(
            credentials={
                "scripted": Credential(
                    api_key=SecretStr("scripted-key"), base_url=getattr(scripted_llm, base)
                )
            },
            anima_defaults=AnimaModelConfig(model="openai/scripted", credential="scripted"),
        ),
    )
    # The fork's model calls a tool the recording never called, then answers differently.
    scripted_llm.load(
        [
            {
                "text": "",
                "tool_calls": [{"name": "send_message", "arguments": {"to": "tanaka", "text": "hi"}}],
            },
            {"text": "Tea it is, noted."},
        ]
    )
    shadow = tmp_path / "shadow"
    result = subprocess.run(
        [
            *REPLAYER,
            "fork",
            "--shadow",
            str(shadow),
            "--model",
            model,
            "--config",
            str(config),
        ],
        input="\n".join(encode_event(e).decode() for e in events),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "reply DIFFERENT" in result.stdout and "1 replies differ" in result.stdout
    assert [r["body"]["model"] for r in scripted_llm.requests] == [wire_model, wire_model]
    assert NOT_RECORDED in json.dumps(scripted_llm.requests[1]["body"]["messages"])
    forked = json.loads((shadow / "fork" / f"{cycle_id}.json").read_text())
    assert forked["original"]["reply"] == "Noted: Tanaka likes tea."
    assert forked["fork"]["reply"] == "Tea it is, noted."
    assert [c["tool"] for c in forked["fork"]["tool_calls"]] == ["send_message"]
    assert forked["reply_same"] is False and forked["tool_calls_same"] is False
    assert "scripted-key" not in (shadow / "fork" / f"{cycle_id}.json").read_text()
    assert sorted(p.name for p in shadow.rglob("*") if p.is_file()) == [f"{cycle_id}.json", "report.txt"]
