"""The night's work as one job: batch forecasts, then the early warning whatever the forecasts did.

One job rather than a shell line joining two: KubeRay pastes a RayJob's entrypoint unquoted into its
submitter's shell script, so a ``;`` or ``&&`` in it ends the ``ray job submit`` there and runs the rest in the
submitter pod, which has no database settings. The night fails (a non-zero exit) if either part failed.
"""

from __future__ import annotations

import argparse
import importlib
import logging
from collections.abc import Callable, Sequence

from deployments.jobs import COMMAND, JOBS
from training.job_args import non_negative_number

logger = logging.getLogger(__name__)

JobMain = Callable[[list[str]], None]


def run_in_turn(steps: Sequence[tuple[str, JobMain, list[str]]]) -> list[str]:
    """Run every step, each whatever the ones before it did; the failures, as ``"<job>: <reason>"``."""
    failures = []
    for name, job_main, options in steps:
        try:
            job_main(options)
        except SystemExit as exit_:
            if exit_.code not in (None, 0):
                failures.append(f"{name}: {exit_.code}")
        except Exception as error:  # one part's crash must not keep the other from running
            logger.exception("%s crashed", name)
            failures.append(f"{name}: {type(error).__name__}: {error}")
    return failures


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog=f"{COMMAND} nightly", description=(__doc__ or "").split("\n")[0])
    linger = "passed to batch-forecast: keep its accuracy gauges up this long for a scrape"
    parser.add_argument("--metrics-linger-s", type=non_negative_number, default=0.0, help=linger)
    args = parser.parse_args(argv)
    steps = [
        ("batch-forecast", _job_main("batch-forecast"), ["--metrics-linger-s", str(args.metrics_linger_s)]),
        ("early-warning", _job_main("early-warning"), []),
    ]
    failures = run_in_turn(steps)
    if failures:
        raise SystemExit("nightly: " + "; ".join(failures))


def _job_main(name: str) -> JobMain:
    job_main: JobMain = importlib.import_module(JOBS[name].module).main
    return job_main
