"""Ray Train runs started again, once, when Ray itself took their workers away.

Ray Train's placement-group cleaner reads the run's controller through the state API and takes an actor it does
not find for a dead one: on a loaded node (seen on a 2-core machine, with the state API behind) it removes a live
run's placement group, and the workers die with "placement group was removed" before training anything. That is
no failure of the run: it is started again once; any other failure is raised as it was.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

PLACEMENT_GROUP_REMOVED = "placement group was removed"


def fit_once_more_if_ray_removed_its_workers(fit: Callable[[], Any]) -> Any:
    """``fit()``; again, once, when it failed because Ray removed the run's placement group."""
    from ray.train import TrainingFailedError

    try:
        return fit()
    except TrainingFailedError as error:
        if PLACEMENT_GROUP_REMOVED not in str(error):
            raise
        logger.warning("Ray removed the training run's placement group under it; starting the run again once")
        return fit()
