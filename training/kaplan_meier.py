"""Lead times from receipts and orders still out (right-censored): the Kaplan-Meier estimate."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class SurvivalLeadTimes:
    """Lead times (``days``, ascending) and their probability under the Kaplan-Meier estimate; the share of orders
    still out after the longest time seen (``still_out``) sits at that time, so with it above 0 the mean, sd and the
    quantiles above ``1 - still_out`` are lower bounds."""

    days: np.ndarray
    probability: np.ndarray
    still_out: float

    @property
    def mean(self) -> float:
        return float(self.days @ self.probability)

    @property
    def sd(self) -> float:
        return float(np.sqrt(self.probability @ (self.days - self.mean) ** 2))

    def quantile(self, q: float) -> float:
        """The shortest lead time whose cumulative probability reaches ``q``."""
        at = np.searchsorted(np.cumsum(self.probability), q - 1e-9)
        return float(self.days[min(int(at), len(self.days) - 1)])


def kaplan_meier(received_days: np.ndarray, out_days: np.ndarray) -> SurvivalLeadTimes:
    """Lead times from receipts (``received_days``, at least one) and orders not received after ``out_days``."""
    survival = stats.ecdf(stats.CensoredData(uncensored=received_days, right=out_days)).sf
    left = survival.probabilities
    probability = -np.diff(np.concatenate([[1.0], left]))
    probability[-1] += left[-1]
    return SurvivalLeadTimes(np.asarray(survival.quantiles, dtype=float), probability, float(left[-1]))
