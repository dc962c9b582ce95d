"""The incident file format, pinned by a committed sample (``tests/fixtures/incident-v1.json``).

The sample was exported by ``anima incident export`` from a real system (the e2e test
``test_replay_debugging``): one chat whose cycle called ``remember`` and answered. It is never
edited; a format change raises the version and keeps this sample readable.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from animas_contracts import CycleStarted, ToolUsed, decode_event
from animas_tools.incident import INCIDENT_VERSION, IncidentError, read_incident, write_incident

SAMPLE = Path(__file__).parent.parent / "fixtures" / "incident-v1.json"


def _replay(file: Path, shadow: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``anima replay incident`` in a home with no system: nothing to connect to."""
    return subprocess.run(
        [sys.executable, "-m", "animas_tools.cli", "replay", "incident", str(file), "--shadow", str(shadow)],
        env={**os.environ, "ANIMAWORKS_HOME": str(cwd / "no-home")},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_committed_sample_reads_with_this_build() -> None:
    incident = read_incident(SAMPLE)
    assert (incident.format, incident.version) == ("animaworks-incident", 1)
    events = [decode_event(line) for line in incident.event_lines()]
    assert {e.correlation_id for e in events} == {incident.correlation_id}
    started = next(e for e in events if isinstance(e, CycleStarted))
    assert started.inputs is not None and started.inputs.inline is not None
    assert [e.seq for e in incident.events] == sorted(e.seq for e in incident.events)


def test_the_sample_replays_offline_to_the_same_tool_calls_and_reply(tmp_path: Path) -> None:
    incident = read_incident(SAMPLE)
    started = next(e for e in map(decode_event, incident.event_lines()) if isinstance(e, CycleStarted))
    used = next(e for e in map(decode_event, incident.event_lines()) if isinstance(e, ToolUsed))
    result = _replay(SAMPLE, tmp_path / "shadow", tmp_path)
    assert result.returncode in (0, 1), result.stderr
    kept = json.loads((tmp_path / "shadow" / "cycles" / f"{started.id}.json").read_text())
    # The prompt is rebuilt by this build, so a later change of the templates shows here as a
    # prompt difference (exit 1); the recorded conversation itself must replay the same.
    assert kept["tool_calls"]["same"] and kept["reply"]["same"], result.stdout
    assert kept["tool_calls"]["replayed"] == [{"tool": used.tool, "arguments": used.arguments}]
    assert kept["model_calls"] == {"recorded": 2, "replayed": 2}
    assert result.returncode == (0 if kept["prompt"]["same"] else 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shadow"]


def test_writing_what_was_read_gives_the_same_document(tmp_path: Path) -> None:
    copy = tmp_path / "copy.json"
    write_incident(read_incident(SAMPLE), copy)
    assert json.loads(copy.read_text()) == json.loads(SAMPLE.read_text())


def test_a_newer_version_or_another_file_is_refused(tmp_path: Path) -> None:
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps({**json.loads(SAMPLE.read_text()), "version": INCIDENT_VERSION + 1}))
    with pytest.raises(IncidentError, match="version 2; this build reads up to 1"):
        read_incident(newer)
    result = _replay(newer, tmp_path / "shadow", tmp_path)
    assert result.returncode == 2 and "version 2" in result.stderr
    assert not (tmp_path / "shadow").exists()
    other = tmp_path / "other.json"
    other.write_text('{"events": []}')
    with pytest.raises(IncidentError, match="not an incident file"):
        read_incident(other)
