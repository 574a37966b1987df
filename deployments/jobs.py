"""Every job the cluster runs, behind one command: ``python -m deployments.jobs <job> [options]``.

RayJobs, RayCronJobs, the maintenance CronJob and ``ray job submit`` all name a job from ``JOBS``; each job
keeps its own options (``python -m deployments.jobs <job> --help``) and prints its summary as one JSON line.
The job modules hold the work; this module only picks one, so the list of what runs in the cluster lives in
one place.
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass

COMMAND = "python -m deployments.jobs"


@dataclass(frozen=True)
class Job:
    module: str
    summary: str


JOBS: dict[str, Job] = {
    "train": Job("training.train_job", "fit forecasting models with Ray Train and promote the better ones"),
    "batch-forecast": Job("training.batch_forecast", "forecast every series of every tenant into the store"),
    "early-warning": Job("risk.early_warning", "retrain due disruption models, score open orders, raise alerts"),
    "nightly": Job(
        "deployments.nightly_job", "batch-forecast, then early-warning whatever it did; fails if either did"
    ),
    "integrations-sync": Job("deployments.integrations_job", "run every due scheduled ERP sync"),
    "maintenance": Job(
        "deployments.maintenance_job",
        "release expired reservation holds, purge old idempotency keys and webhook deliveries",
    ),
}


def usage() -> str:
    width = max(len(name) for name in JOBS)
    lines = [f"usage: {COMMAND} <job> [options]   ({COMMAND} <job> --help for a job's options)", "", "jobs:"]
    lines += [f"  {name.ljust(width)}  {job.summary}" for name, job in JOBS.items()]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(usage())
        raise SystemExit(0 if args else 2)
    name, options = args[0], args[1:]
    if name not in JOBS:
        print(f"{COMMAND}: unknown job {name!r}; one of: {', '.join(JOBS)}", file=sys.stderr)
        raise SystemExit(2)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    job_main = importlib.import_module(JOBS[name].module).main
    job_main(options)


if __name__ == "__main__":
    main()
