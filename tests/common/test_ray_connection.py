"""The one way onto Ray: a small local cluster (one CPU), or the session's when the Serve tests started one."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import ray

from common.ray_connection import NAMESPACE, connect_ray, put_interpreter_first, ray_session, workers_share_driver_disk


@ray.remote(num_cpus=0)
def _worker_environment() -> tuple[str, str]:
    return os.environ["PATH"].split(os.pathsep)[0], ray.get_runtime_context().namespace


@pytest.mark.ray  # starts a cluster of its own: not in the fast tier
def test_a_process_already_connected_keeps_its_connection_and_only_the_starter_disconnects():
    with ray_session(num_cpus=1) as outer:
        again = connect_ray(num_cpus=1)
        with ray_session() as inner:
            pass
        assert not again.started and not inner.started
        assert ray.is_initialized()
    # Shut down by the block only when this test started it (not when it joined the session's cluster).
    assert ray.is_initialized() is not outer.started


@pytest.mark.ray  # starts a cluster of its own: not in the fast tier
def test_a_cluster_started_here_has_the_projects_namespace_size_and_interpreter():
    with ray_session(num_cpus=1) as session:
        if session.started:
            assert ray.cluster_resources()["CPU"] == 1
        driver_namespace = ray.get_runtime_context().namespace
        first_on_path, worker_namespace = ray.get(_worker_environment.remote())
    assert driver_namespace == worker_namespace == NAMESPACE
    assert first_on_path == str(Path(sys.executable).parent)


def test_put_interpreter_first_moves_this_interpreters_folder_to_the_front_once():
    bin_dir = str(Path(sys.executable).parent)
    environ = {"PATH": os.pathsep.join(["/usr/bin", bin_dir, "/bin"])}
    assert put_interpreter_first(environ) == bin_dir
    assert environ["PATH"].split(os.pathsep) == [bin_dir, "/usr/bin", "/bin"]
    if sys.prefix != sys.base_prefix:
        assert environ["VIRTUAL_ENV"] == sys.prefix


@pytest.mark.parametrize(
    ("nodes", "shared"),
    [
        ([{"NodeID": "d", "Alive": True, "Resources": {"CPU": 2.0}}], True),
        ([{"NodeID": "d", "Alive": True, "Resources": {"CPU": 2.0}}, {"NodeID": "w", "Alive": False}], True),
        ([{"NodeID": "d", "Alive": True, "Resources": {}}], False),  # a head without CPUs: workers go elsewhere
        ([{"NodeID": "d", "Alive": True, "Resources": {"CPU": 1.0}}, {"NodeID": "w", "Alive": True}], False),
    ],
    ids=["one-node", "a-dead-worker", "cpu-less-head", "two-nodes"],
)
def test_train_workers_share_the_drivers_disk_only_on_its_one_live_node_with_cpus(nodes, shared):
    assert workers_share_driver_disk(nodes, "d") is shared
