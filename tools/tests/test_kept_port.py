"""`anima up --port 0` chooses the gateway's port once, so a restarted gateway comes back on it."""

from __future__ import annotations

import socket

from animas_tools.up import kept_port


def test_a_port_asked_for_is_kept() -> None:
    assert kept_port(18500) == 18500


def test_port_zero_becomes_one_free_port_chosen_now() -> None:
    port = kept_port(0)
    assert 0 < port < 65536
    with socket.socket() as sock:  # free: the service started next can listen on it
        sock.bind(("127.0.0.1", port))
