"""`ratings local up` start-up checks: ports in TIME_WAIT are free, listening ones are not.

A restart right after a stop finds the previous run's connections in TIME_WAIT (RFC 9293 3.6.1:
2 x MSL); binding with SO_REUSEADDR, as uvicorn and every server does, is allowed then, so the
port check must probe the same way.
"""

from __future__ import annotations

import socket

import pytest
import yaml

from core import stack_file
from emulator import local, processes
from tests.conftest import free_port_block
from tests.stacks import ROOT


def _config(tmp_path, base: int):
    values = yaml.safe_load((ROOT / "Pulumi.local.yaml").read_text())
    values["config"]["ratings:local"] = {"gatewayPort": base, "runtimePort": base + 1, "modelPortBase": base + 2}
    path = tmp_path / "Pulumi.local.yaml"
    path.write_text(yaml.safe_dump(values, sort_keys=False))
    return stack_file.read(path).config


def _leave_time_wait(port: int) -> None:
    """A connection to ``port`` closed by the server side first: the server's end sits in TIME_WAIT."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen()
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = listener.accept()
        accepted.close()
        client.recv(1)
        client.close()


def test_ports_left_in_time_wait_by_a_previous_run_are_free(tmp_path):
    base = free_port_block(4)
    config = _config(tmp_path, base)
    _leave_time_wait(base)
    local.check_ports_free(config)  # no StartError


def test_a_port_someone_listens_on_is_refused_with_a_clear_message(tmp_path):
    base = free_port_block(4)
    config = _config(tmp_path, base)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", base + 1))
        listener.listen()
        with pytest.raises(processes.StartError, match=f"port {base + 1} is in use"):
            local.check_ports_free(config)
