"""The embedded nats-server keeps its port and comes back when it dies (issue #12, item 4).

Real nats-server processes in a temporary directory; a nats-py client stands in for a service.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest
from nats.js.api import StreamConfig

from animas_tools.nats_server import PORT_FILE, NatsServer, NatsServerError, persistent_port
from animas_tools.nats_supervision import RESTART_BACKOFF_S, SupervisedNats


def test_the_port_is_chosen_once_and_kept(tmp_path: Path) -> None:
    first = persistent_port(tmp_path / "nats")
    assert (tmp_path / "nats" / PORT_FILE).read_text().strip() == str(first)
    assert persistent_port(tmp_path / "nats") == first


def test_a_port_file_that_is_not_a_port_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / PORT_FILE).write_text("four thousand\n")
    with pytest.raises(NatsServerError, match=r"should hold the embedded nats-server's port.*delete it"):
        persistent_port(tmp_path)


@pytest.fixture
def squatter() -> Iterator[int]:
    """A port some other program listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


@pytest.mark.nats
def test_a_kept_port_another_program_holds_is_named_with_what_to_do(tmp_path: Path, squatter: int) -> None:
    (tmp_path / PORT_FILE).write_text(f"{squatter}\n")
    server = NatsServer(tmp_path, port=persistent_port(tmp_path))
    with pytest.raises(NatsServerError) as failure:
        server.start()
    message = str(failure.value)
    assert f"port 127.0.0.1:{squatter}" in message
    assert f"kept in {tmp_path / PORT_FILE}" in message
    assert "another program holds it" in message and f"delete {tmp_path / PORT_FILE}" in message
    assert server.process is None  # nothing was started


@pytest.mark.nats
def test_a_server_left_over_from_an_earlier_run_is_named_by_its_pid(tmp_path: Path) -> None:
    port = persistent_port(tmp_path)
    earlier = NatsServer(tmp_path, port=port).start()
    try:
        leftover = re.escape(f"earlier nats-server of this home (pid {earlier.pid})")
        with pytest.raises(NatsServerError, match=leftover):
            NatsServer(tmp_path, port=port).start()
    finally:
        earlier.stop()


def _wait_for(condition: object, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


@pytest.mark.nats
def test_a_killed_server_is_restarted_on_its_port_with_its_store(tmp_path: Path) -> None:
    said: list[str] = []
    server = NatsServer(tmp_path, port=persistent_port(tmp_path)).start()
    supervised = SupervisedNats(server, said.append)
    url = server.url

    async def scenario() -> None:
        nc = await nats.connect(url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
        try:
            js = nc.jetstream()
            await js.add_stream(StreamConfig(name="KEPT", subjects=["kept.>"]))
            await js.publish("kept.a", b"before")
            first_pid = supervised.pid
            assert first_pid is not None
            os.kill(first_pid, signal.SIGKILL)
            # The supervisor's loop, as `anima up` runs it.
            deadline = time.monotonic() + 30
            while supervised.restarts == 0:
                assert time.monotonic() < deadline, said
                supervised.check()
                await asyncio.sleep(0.05)
            assert supervised.pid not in (None, first_pid)
            assert server.url == url
            # The client finds it again by itself, and the stream kept what it had.
            ack = await js.publish("kept.b", b"after", timeout=10)
            assert ack.seq == 2
        finally:
            await nc.close()

    try:
        asyncio.run(scenario())
    finally:
        server.stop()
    assert any(line.startswith("nats-server exited with code") for line in said)
    assert any(f"restarted nats-server on {url}" in line for line in said)


@pytest.mark.nats
def test_a_restart_that_finds_the_port_taken_says_why_and_keeps_trying(tmp_path: Path) -> None:
    said: list[str] = []
    now = [0.0]
    server = NatsServer(tmp_path, port=persistent_port(tmp_path)).start()
    supervised = SupervisedNats(server, said.append, clock=lambda: now[0])
    port = server.port
    assert server.process is not None and port is not None
    server.process.kill()
    server.process.wait()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        assert supervised.check() is False  # noticed: a restart is scheduled
        now[0] += RESTART_BACKOFF_S[0]
        assert supervised.check() is False  # tried: the port is taken
        assert "another program holds it" in said[-1] and "restarting in" in said[-1]
    now[0] += RESTART_BACKOFF_S[-1]
    try:
        assert supervised.check() is True
        assert supervised.pid is not None and server.port == port
    finally:
        server.stop()
