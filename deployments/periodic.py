"""A job run again every few seconds in a daemon thread: ``chainsight up``'s stand-in for the cluster's CronJobs."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from typing import Any, Self


class PeriodicLoop(ABC):
    """Calls ``run_round`` every ``every_s`` seconds until ``stop``; ``last_summary`` holds the latest result.

    ``run_round`` handles the failures the schedule must outlive (it logs them and returns); anything it
    lets through ends the thread, as it should for a bug.
    """

    def __init__(self, every_s: float, *, name: str) -> None:
        self.every_s = every_s
        self.rounds = 0
        self.last_summary: dict[str, Any] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    @abstractmethod
    def run_round(self, stop: threading.Event) -> None:
        """One round of the job; sets ``last_summary`` when it succeeds. ``stop`` is set when the loop is stopping."""

    def start(self) -> Self:
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_round(self._stop)
            self.rounds += 1
            self._stop.wait(self.every_s)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop after the current round; waits up to ``timeout_s`` for it to finish."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
