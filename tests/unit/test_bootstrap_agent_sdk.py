"""bootstrap.py installs the Claude Agent SDK (agent-runner's ``agent-sdk`` extra) when it is needed."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bootstrap() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bootstrap_under_test", ROOT / "bootstrap.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_a_dev_install_has_the_sdk_and_a_run_install_only_when_asked(bootstrap: ModuleType) -> None:
    assert bootstrap._extras(True, False) == {"tools": "dev", "services/agent-runner": "agent-sdk"}
    assert bootstrap._extras(False, False) == {}
    assert bootstrap._extras(False, True) == {"services/agent-runner": "agent-sdk"}
    assert bootstrap._fingerprint(False, True) != bootstrap._fingerprint(False, False)


@pytest.mark.parametrize(
    "config",
    [
        {"animas": {"bob": {"execution_mode": "A1"}}},
        {"anima_defaults": {"execution_mode": "agent_sdk"}},
        {"model_modes": {"anthropic/*": " Agent_SDK "}},
    ],
)
def test_a_config_naming_mode_a1_wants_the_sdk(
    bootstrap: ModuleType, tmp_path: Path, config: dict[str, object]
) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"version": 1, **config}))
    assert bootstrap._names_agent_sdk(tmp_path)


def test_a_status_json_naming_it_wants_it_and_other_modes_do_not(
    bootstrap: ModuleType, tmp_path: Path
) -> None:
    (tmp_path / "config.json").write_text(
        json.dumps({"animas": {"bob": {"execution_mode": "A2"}}, "model_modes": {"x/*": "assisted"}})
    )
    assert not bootstrap._names_agent_sdk(tmp_path)
    assert not bootstrap._names_agent_sdk(tmp_path / "missing")
    (tmp_path / "animas" / "carol").mkdir(parents=True)
    (tmp_path / "animas" / "carol" / "status.json").write_text(json.dumps({"execution_mode": "a1"}))
    assert bootstrap._names_agent_sdk(tmp_path)


def test_the_home_is_the_one_anima_up_will_use(
    bootstrap: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert bootstrap._home(["--home", str(tmp_path)]) == tmp_path
    assert bootstrap._home([f"--home={tmp_path}"]) == tmp_path
    monkeypatch.setenv("ANIMAWORKS_HOME", str(tmp_path / "env"))
    assert bootstrap._home(["--port", "8080"]) == tmp_path / "env"
