"""The generated nats-server config and the users file."""

from __future__ import annotations

import stat
from pathlib import Path

from animas_contracts.subjects import SERVICE_NAMES
from animas_tools.authority import AUTHORITY, SERVICE_PERMISSIONS, Durable
from animas_tools.nats_server import load_or_create_users, render_server_config


def test_every_service_has_a_user_and_permissions() -> None:
    assert set(SERVICE_PERMISSIONS) == set(SERVICE_NAMES)


def test_users_are_persistent_and_private(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    first = load_or_create_users(path)
    second = load_or_create_users(path)
    assert {n: u.password for n, u in first.items()} == {n: u.password for n, u in second.items()}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len({u.password for u in first.values()}) == len(first)


def test_config_lists_each_user_with_their_rules(tmp_path: Path) -> None:
    users = load_or_create_users(tmp_path / "users.json")
    text = render_server_config(host="127.0.0.1", port=-1, store_dir=tmp_path / "js", users=users)
    for user in users.values():
        line = next(line for line in text.splitlines() if f'user: "{user.name}"' in line)
        assert all(f'"{subject}"' in line for subject in user.permissions.publish_allow)
    assert "jetstream: enabled" in text
    runner = SERVICE_PERMISSIONS["agent-runner"]
    assert "activity.*.identity.>" in runner.publish_deny
    assert not any(s.startswith("activity.*.identity") for s in runner.publish_allow)


def test_the_durables_in_the_services_code_are_the_ones_the_table_grants() -> None:
    from animas_agent_runner.app import message_consumers, task_consumers
    from animas_consolidator.app import CONSUMERS
    from animas_contracts.subjects import DEFAULT_ACTIVITY_PARTITIONS
    from animas_memory_writer.app import ACTIVITY_CONSUMER
    from animas_outbound.app import REQUESTS
    from animas_outbound.notify.wiring import NOTIFY_REQUESTS
    from animas_outbound.replies.wiring import EXTERNAL_REPLIES
    from animas_priming.app import applied_consumers

    in_code = {
        "agent-runner": [
            *message_consumers(DEFAULT_ACTIVITY_PARTITIONS),
            *task_consumers(DEFAULT_ACTIVITY_PARTITIONS),
        ],
        "consolidator": list(CONSUMERS),
        "memory-writer": [ACTIVITY_CONSUMER],
        "outbound": [REQUESTS, NOTIFY_REQUESTS, EXTERNAL_REPLIES],
        "priming": applied_consumers(DEFAULT_ACTIVITY_PARTITIONS),
    }
    for service, grant in AUTHORITY.items():
        specs = in_code.get(service, [])
        assert {Durable(s.stream, s.durable) for s in specs} == set(grant.durables), service
