"""#17: ``anima config set`` never echoes a webhook source's reply token, app token or callback secret."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner, Result

from animas_tools.config_cli import config_app

runner = CliRunner()


def invoke(*args: str) -> Result:
    return runner.invoke(config_app, list(args))


def test_a_sources_tokens_and_callback_secret_are_never_echoed(tmp_path: Path) -> None:
    home = str(tmp_path / "home")
    slack = {"kind": "slack", "anima": "sample", "secrets": ["whsec-s"]}
    assert invoke("set", "webhooks.sources.slack", json.dumps(slack), "--home", home).exit_code == 0
    ci = {"kind": "generic", "anima": "sample", "secrets": ["whsec-g"]}
    assert invoke("set", "webhooks.sources.ci", json.dumps(ci), "--home", home).exit_code == 0
    for key, value, shown in [
        ("webhooks.sources.ci.callback_url", "http://127.0.0.1:9/cb", "http://127.0.0.1:9/cb"),
        ("webhooks.sources.ci.callback_secret", "whsec-callback", "***"),
        ("webhooks.sources.slack.token", "xoxb-whsec-bot", "***"),
        ("webhooks.sources.slack.app_token", "xapp-whsec-app", "***"),
    ]:
        result = invoke("set", key, value, "--home", home)
        assert result.exit_code == 0, result.output
        assert "whsec" not in result.output and f"{key} = {shown}" in result.output
    stored = json.loads((tmp_path / "home" / "config.json").read_text())["webhooks"]["sources"]
    assert stored["slack"]["token"] == "xoxb-whsec-bot"
    assert stored["ci"]["callback_secret"] == "whsec-callback"
