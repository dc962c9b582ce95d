"""DELTAS, BODIES and DEADLETTER retention: stream settings provisioning takes from config.json.

ACTIVITY, the source of truth, is kept for good whatever the housekeeping section says (docs/retention.md).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest
from nats.js.api import StreamConfig
from nats.js.errors import APIError

from animas_contracts.subjects import ACTIVITY_STREAM, DEADLETTER_STREAM, DELTAS_STREAM
from animas_core.stream_retention import BODIES_STREAM
from animas_tools.authority import ADMIN_USER
from animas_tools.nats_server import NatsServer, NatsUser, load_or_create_users

pytestmark = [pytest.mark.nats]

Bare = tuple[str, dict[str, NatsUser]]


@pytest.fixture
def bare(tmp_path: Path) -> Iterator[Bare]:
    """A secured nats-server nobody has provisioned yet."""
    users = load_or_create_users(tmp_path / "users.json")
    server = NatsServer(tmp_path / "nats", users=users).start()
    try:
        yield server.url, users
    finally:
        server.stop()


def _provision(url: str, users: dict[str, NatsUser], config: Path) -> subprocess.CompletedProcess[str]:
    env = {
        "ANIMAWORKS_NATS_URL": url,
        "ANIMAWORKS_NATS_USER": ADMIN_USER,
        "ANIMAWORKS_NATS_PASSWORD": users[ADMIN_USER].password,
        "ANIMAWORKS_CONFIG_FILE": str(config),
        "PATH": "/usr/bin:/bin",
    }
    return subprocess.run(
        [sys.executable, "-m", "animas_core.provision"], env=env, capture_output=True, text=True, check=False
    )


async def _max_ages(url: str, user: NatsUser) -> tuple[float, float]:
    """DELTAS' and BODIES' max ages."""
    ages = await _all_max_ages(url, user)
    return ages[DELTAS_STREAM], ages[BODIES_STREAM]


async def _all_max_ages(url: str, user: NatsUser) -> dict[str, float]:
    nc = await nats.connect(url, user=user.name, password=user.password)
    try:
        js = nc.jetstream()
        streams = (DELTAS_STREAM, BODIES_STREAM, DEADLETTER_STREAM, ACTIVITY_STREAM)
        return {s: (await js.stream_info(s)).config.max_age or 0.0 for s in streams}
    finally:
        await nc.close()


async def test_provisioning_sets_and_changes_the_max_ages_config_json_asks_for(
    bare: Bare, tmp_path: Path
) -> None:
    url, users = bare
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"version": 1}))
    assert _provision(url, users, config).returncode == 0
    assert await _max_ages(url, users[ADMIN_USER]) == pytest.approx((24 * 3600.0, 0.0))

    # An existing stream is updated when the operator changes the setting and provisions again.
    config.write_text(
        json.dumps({"version": 1, "housekeeping": {"deltas_max_age_hours": 2, "bodies_max_age_days": 30}})
    )
    assert _provision(url, users, config).returncode == 0
    assert await _max_ages(url, users[ADMIN_USER]) == pytest.approx((7200.0, 30 * 86400.0))


async def test_dead_letters_expire_when_asked_and_the_activity_stream_never_does(
    bare: Bare, tmp_path: Path
) -> None:
    url, users = bare
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"version": 1}))
    assert _provision(url, users, config).returncode == 0
    ages = await _all_max_ages(url, users[ADMIN_USER])
    assert (ages[DEADLETTER_STREAM], ages[ACTIVITY_STREAM]) == (0.0, 0.0)

    housekeeping = {"deadletter_max_age_days": 14, "snapshot_every_events": 50, "snapshots_kept": 3}
    config.write_text(json.dumps({"version": 1, "housekeeping": housekeeping}))
    assert _provision(url, users, config).returncode == 0
    ages = await _all_max_ages(url, users[ADMIN_USER])
    assert ages[DEADLETTER_STREAM] == pytest.approx(14 * 86400.0)
    assert ages[ACTIVITY_STREAM] == 0.0  # the source of truth: snapshots do not let it expire

    config.write_text(json.dumps({"version": 1, "housekeeping": {"deadletter_max_age_days": 0}}))
    assert _provision(url, users, config).returncode == 0
    assert (await _all_max_ages(url, users[ADMIN_USER]))[DEADLETTER_STREAM] == 0.0


async def test_an_invalid_retention_is_refused_with_the_field(bare: Bare, tmp_path: Path) -> None:
    url, users = bare
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"version": 1, "housekeeping": {"deltas_max_age_hours": 0}}))
    result = _provision(url, users, config)
    assert result.returncode == 1
    assert "deltas_max_age_hours" in result.stderr + result.stdout


async def test_a_service_may_not_change_retention(bare: Bare, tmp_path: Path) -> None:
    url, users = bare
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"version": 1}))
    assert _provision(url, users, config).returncode == 0
    consolidator = users["consolidator"]
    nc = await nats.connect(
        url, user=consolidator.name, password=consolidator.password, inbox_prefix="_INBOX.consolidator"
    )
    try:
        js = nc.jetstream(timeout=2)
        # The broker answers a forbidden request with a permissions violation and no reply.
        with pytest.raises((APIError, nats.errors.Error)):
            await js.update_stream(StreamConfig(name=DELTAS_STREAM, subjects=["delta.>"], max_age=1.0))
    finally:
        await nc.close()
    assert await _max_ages(url, users[ADMIN_USER]) == pytest.approx((24 * 3600.0, 0.0))
