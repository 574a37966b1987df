"""Starting and stopping a local stack without Ray: who holds a port, and which HAProxy processes are the
stack's own. HAProxy stand-ins are real processes whose command line is what Ray Serve runs
(``haproxy -db -f /tmp/haproxy-serve/<node id>/haproxy.cfg``)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest
from ray.serve._private.constants import RAY_SERVE_HAPROXY_CONFIG_FILE_LOC
from typer.testing import CliRunner

from common.config import Settings, get_settings
from deployments.cli import app
from deployments.local_stack import (
    PortInUseError,
    check_ports_free,
    ensure_database,
    export_settings,
    haproxy_pids,
    port_holder,
    stop_haproxy,
)


@pytest.fixture
def listener() -> Iterator[int]:
    """A port this test process listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def fake_haproxy(node_id: str) -> subprocess.Popen:
    directory, name = os.path.split(RAY_SERVE_HAPROXY_CONFIG_FILE_LOC)
    config = os.path.join(directory, node_id, name)
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", "-db", "-f", config])


def test_a_held_port_names_the_process_that_listens_on_it(listener):
    pid, command = port_holder("127.0.0.1", listener)
    assert pid == os.getpid() and "pytest" in command


def test_the_holder_is_found_when_a_closed_descriptor_sits_below_the_socket():
    # listdir's own descriptor takes the lowest free number and is closed before the fds are read back
    placeholders = [os.open(os.devnull, os.O_RDONLY) for _ in range(3)]
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        for placeholder in placeholders:
            os.close(placeholder)
        assert port_holder("127.0.0.1", sock.getsockname()[1])[0] == os.getpid()


def test_a_free_port_has_no_holder(listener):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        free = sock.getsockname()[1]
    assert port_holder("127.0.0.1", free) is None


def test_a_port_left_with_a_closed_connection_in_time_wait_has_no_holder():
    # The server side closing first (Ctrl-C with a browser's SSE or WebSocket open) leaves its end in TIME_WAIT
    # for a minute: until 2026-12-07 `make run` then refused "port in use by another user's process".
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn and HAProxy bind theirs
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)) as client:
            accepted, _ = server.accept()
            accepted.close()
            assert client.recv(1) == b""  # the server closed first, so its end is left in TIME_WAIT
    assert port_holder("127.0.0.1", port) is None


def test_starting_on_a_held_http_port_is_refused_with_the_holder_and_how_to_stop_it(listener):
    settings = Settings(_env_file=None, http_port=listener, serve_high_throughput=False)
    with pytest.raises(PortInUseError, match=rf"port {listener} is already in use by pid {os.getpid()} .*kill"):
        check_ports_free(settings)


def test_up_on_a_held_port_ends_with_one_line_and_no_traceback(listener, monkeypatch):
    monkeypatch.setenv("HTTP_PORT", str(listener))
    monkeypatch.setenv("SERVE_HIGH_THROUGHPUT", "false")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["up", "--no-seed"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"error: port {listener} is already in use by pid {os.getpid()} "
        f"({port_holder('127.0.0.1', listener)[1][:100]}); stop it (kill {os.getpid()}) and start again"
    ]


def test_stopping_a_nodes_haproxy_stops_only_that_nodes_processes():
    ours, theirs = fake_haproxy("node-ours"), fake_haproxy("node-theirs")
    try:
        assert haproxy_pids("node-ours") == [ours.pid]
        assert stop_haproxy("node-ours", timeout_s=5) == [ours.pid]
        assert ours.wait(timeout=5) is not None
        assert theirs.poll() is None and haproxy_pids("node-theirs") == [theirs.pid]
    finally:
        for process in (ours, theirs):
            process.kill()
            process.wait()


def test_a_database_url_from_env_file_is_exported_to_the_cluster_and_its_jobs(monkeypatch, tmp_path):
    # Before, only the embedded server's URL was exported: one set in .env never reached the Ray cluster, and
    # `ray job submit --working-dir .` leaves the .gitignored .env out, so the printed batch job failed with
    # "DATABASE_URL is not set".
    url = "postgresql://chainsight:pw@db.internal:5432/chainsight"
    env_file = tmp_path / ".env"
    env_file.write_text(f"DATABASE_URL={url}\n")
    # set first, so that teardown removes what ensure_database exports whether or not it was set before
    monkeypatch.setenv("DATABASE_URL", "unset")
    monkeypatch.delenv("DATABASE_URL")
    assert ensure_database(Settings(_env_file=env_file)) == url
    assert os.environ["DATABASE_URL"] == url


def test_settings_from_env_file_are_exported_for_the_cluster_and_the_environment_keeps_its_own(monkeypatch, tmp_path):
    # Before 2026-12-08 only DATABASE_URL was: a job submitted to `chainsight up`'s cluster read every other
    # setting of .env at its default (`ray job submit --working-dir .` uploads no .gitignored .env).
    env_file = tmp_path / ".env"
    env_file.write_text("DATABASE_STATEMENT_TIMEOUT_MS=14321\nHTTP_PORT=9001\n")
    monkeypatch.setenv("DATABASE_STATEMENT_TIMEOUT_MS", "unset")  # so that teardown removes what is exported
    monkeypatch.delenv("DATABASE_STATEMENT_TIMEOUT_MS")
    monkeypatch.setenv("HTTP_PORT", "9002")

    assert export_settings(Settings(_env_file=env_file)) == ["DATABASE_STATEMENT_TIMEOUT_MS"]
    assert os.environ["DATABASE_STATEMENT_TIMEOUT_MS"] == "14321"
    assert os.environ["HTTP_PORT"] == "9002"
