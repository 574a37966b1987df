"""A Ray Train champion's checkpoint is read once per process and replaced when another run is champion."""

from __future__ import annotations

from training.serving import TrainedModels, TrainedRun


def run(run_id: str) -> TrainedRun:
    return TrainedRun(run_id, 1, "deepar", f"/checkpoints/{run_id}", "D", 7, 0.5)


def test_each_champion_checkpoint_is_loaded_once_and_the_least_recently_used_is_dropped():
    read: list[str] = []
    models = TrainedModels(loader=lambda r: read.append(r.run_id) or f"network of {r.run_id}", capacity=2)
    assert models.model(run("a")) == models.model(run("a")) == "network of a"
    models.model(run("b"))
    models.model(run("a"))
    models.model(run("c"))  # evicts b, the least recently used
    models.model(run("a"))
    models.model(run("b"))
    assert read == ["a", "b", "c", "b"] and models.loads == 4
