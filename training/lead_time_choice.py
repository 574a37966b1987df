"""Which lead time a stock policy uses, and why: the request's, the supplier's history, or the reorder rule's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from common.errors import InvalidInputError
from training.supply import observed_lead_times

# Observed lead times are passed on as samples (for the policy's simulation) only from this many receipts on.
MIN_RECEIPTS_FOR_SAMPLES = 10
# A reorder rule gives one number; its spread is assumed, and the source says so.
RULE_SD_SHARE = 0.25


@dataclass(frozen=True)
class LeadTime:
    mean_days: float
    sd_days: float
    samples_days: list[float] | None
    source: str


def choose_lead_time(
    requested_days: float | None,
    requested_sd_days: float | None,
    supplier_estimate: dict[str, Any] | None,
    supplier_receipts: pd.DataFrame | None,
    rule_days: float | None,
    supplier_scope: str | None = None,
) -> LeadTime:
    """The request's figure first, then the supplier's estimated distribution, then the reorder rule's.

    ``supplier_estimate`` is the forecast service's ``lead_time`` report; ``supplier_receipts`` the received
    orders it came from (``issued_at``, ``first_received_at``), ``supplier_scope`` whose orders those are (a
    warehouse's own, or all the supplier's): the source names it. A requested sd without a requested mean spreads
    the supplier's or the rule's mean, and the source says so."""
    if requested_days is not None:
        return LeadTime(requested_days, requested_sd_days or 0.0, None, "request")
    # Before, a requested sd without a requested mean was dropped for the supplier's or the rule's without a word.
    from_request = ", sd from request" if requested_sd_days is not None else ""
    if supplier_estimate is not None and supplier_estimate["mean_days"] is not None:
        samples = None
        # Observed lead times are bootstrapped by the simulation: with a requested sd it would check another spread,
        # and with open orders outlasting receipts (censored) the receipts alone are the quick part of the spread.
        if (
            supplier_receipts is not None
            and supplier_estimate["receipts"] >= MIN_RECEIPTS_FOR_SAMPLES
            and requested_sd_days is None
            and not supplier_estimate.get("censored_orders")
        ):
            samples = observed_lead_times(supplier_receipts).dropna().tolist()
        source = f"supplier {supplier_estimate['basis']}"
        if rule_days is not None:  # the estimate's nominal figure was the reorder rule's, not the supplier's
            source = {
                "supplier nominal": "reorder rule (no receipts from the supplier yet)",
                "supplier blended with nominal": "supplier history blended with the reorder rule's lead time",
                "supplier nominal, raised to open orders": (
                    "reorder rule, raised to the supplier's open orders' time out (no receipts yet)"
                ),
            }.get(source, source)
        if supplier_scope is not None and supplier_estimate["receipts"] > 0:
            source += f" ({supplier_scope})"
        sd = requested_sd_days if requested_sd_days is not None else float(supplier_estimate["sd_days"])
        return LeadTime(float(supplier_estimate["mean_days"]), sd, samples, source + from_request)
    if rule_days is not None:
        if requested_sd_days is not None:
            return LeadTime(float(rule_days), requested_sd_days, None, "reorder rule, sd from request")
        return LeadTime(
            float(rule_days), RULE_SD_SHARE * float(rule_days), None, f"reorder rule (sd {RULE_SD_SHARE:.0%} assumed)"
        )
    if supplier_estimate is not None:  # a supplier, named or found, with nothing to estimate from
        raise InvalidInputError(
            "no lead time known for this supplier: it has no receipts yet and no nominal lead time, and no reorder "
            "rule for this product and warehouse sets a lead time for it; pass lead_time_days, or set the "
            "supplier's lead time or a reorder rule's for this supplier",
            code="lead_time_unknown",
        )
    raise InvalidInputError(
        "no lead time known for this product and warehouse: no reorder rule or purchase order names its supplier; "
        "pass lead_time_days or supplier_id, or set a reorder rule with a supplier",
        code="lead_time_unknown",
    )
