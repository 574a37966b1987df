"""A Ray Train run is started again once when Ray removed its placement group under it, and only then."""

from __future__ import annotations

import pytest
from ray.train import TrainingFailedError

from training.ray_retry import fit_once_more_if_ray_removed_its_workers

REMOVED = TrainingFailedError(
    "A worker health check failed. The actor is dead because its worker process has died. Worker exit type: "
    "INTENDED_SYSTEM_EXIT Worker exit detail: Destroying worker since its placement group was removed."
)


def fits(*outcomes: object):
    """A stand-in for ``trainer.fit``: each call raises or returns the next outcome; ``calls`` counts them."""
    remaining = list(outcomes)

    def fit() -> object:
        fit.calls += 1  # type: ignore[attr-defined]
        outcome = remaining.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    fit.calls = 0  # type: ignore[attr-defined]
    return fit


def test_a_run_whose_placement_group_ray_removed_is_started_again_once():
    # Seen in CI on 2026-12-07: Ray Train's cleaner took the live controller for dead and removed its group.
    fit = fits(REMOVED, "result")
    assert fit_once_more_if_ray_removed_its_workers(fit) == "result" and fit.calls == 2


def test_any_other_failure_is_raised_without_a_second_run():
    fit = fits(TrainingFailedError("the training loop raised ValueError"), "result")
    with pytest.raises(TrainingFailedError, match="ValueError"):
        fit_once_more_if_ray_removed_its_workers(fit)
    assert fit.calls == 1


def test_a_second_removal_is_raised():
    fit = fits(REMOVED, REMOVED)
    with pytest.raises(TrainingFailedError, match="placement group was removed"):
        fit_once_more_if_ray_removed_its_workers(fit)
    assert fit.calls == 2
