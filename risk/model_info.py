"""What the API says about the scorer that scores the orders (``/ai/risk/model``, ``/purchase-orders``' ``model``):
only figures the data supports. The held-out figures are the serving scorer's own, from the training run's
validation windows; the booster's figures on the rows it was fitted on are labelled as a fit, never as accuracy."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from risk.model import BASELINE_SCORER, MODEL_SCORER, DisruptionModel
from risk.repository import MODEL_NAME


class HeldOutFigures(BaseModel):
    """The serving scorer's figures on the training run's validation windows: the newest settled lines, each
    scored as it would have been before its outcome was known (lines it was not fitted on)."""

    scorer: str
    lines: int = Field(description="validation lines the figures were measured on")
    late_lines: int | None = Field(description="late lines among them; null where the run did not record it")
    roc_auc: float | None = Field(description="share of (late, on-time) pairs of a window ranked right; null: none")
    pr_auc: float | None = Field(description="null when the lines hold one class only")
    brier: float | None
    ece: float | None = Field(description="expected calibration error, ten equal-width bins")


class ModelInfoOut(BaseModel):
    """``/ai/risk/model``: which scorer serves, why, and the figures of that scorer the data supports."""

    # A key the service adds is declared here, not dropped on the way out (tests/risk/test_model_info.py).
    model_config = ConfigDict(extra="forbid")

    model_name: str
    version: int | None = Field(description="the registry's version; null while no trained model serves")
    method: str = Field(description="the same as scorer (kept for earlier clients)")
    scorer: str = Field(description="what scores the orders: the booster, its starting rate or the baseline")
    reason: str
    calibration: str | None = Field(
        description="the calibration applied to the served probabilities; null when the scorer is a raw late rate"
    )
    held_out: HeldOutFigures | None = Field(
        description="the serving scorer's held-out figures; null when none were recorded for it"
    )
    metrics: dict[str, Any] | None = Field(
        description="the training run's record, of the booster whether or not it serves: holdout (every scorer's "
        "figures on the validation windows), in_sample_fit (the booster on its own training rows: a fit, not an "
        "accuracy), calibration (on calibration rows held out from its fit, when it had them)"
    )
    trained_at: datetime | None = None


def served_model_info(current: tuple[int, DisruptionModel] | None, incompatible: int | None = None) -> dict[str, Any]:
    """Which scorer scores the orders (``scorer``) and why (``reason``), with the registry's version, the
    calibration applied to what it serves and its held-out figures (``ModelInfoOut``)."""
    if current is None:
        reason = "no disruption model has been trained for this tenant yet"
        if incompatible is not None:
            reason = (
                f"the stored disruption model (version {incompatible}) was trained on an earlier feature set and "
                "serves nothing until it is retrained (chainsight risk scan --retrain); the supplier-late-rate "
                "baseline serves instead"
            )
        return {"model_name": MODEL_NAME, "version": None, "method": BASELINE_SCORER, "scorer": BASELINE_SCORER,
                "reason": reason, "calibration": None, "held_out": None, "metrics": None}  # fmt: skip
    version, model = current
    return {
        "model_name": MODEL_NAME,
        "version": version,
        "method": model.scorer,
        "scorer": model.scorer,
        "reason": model.reason or "trained before baseline-aware promotion; no holdout comparison recorded",
        # The rate scorers serve their late rates as they are: the booster's calibrator applies to the booster only.
        "calibration": model.calibrator.method if model.scorer == MODEL_SCORER else None,
        "held_out": held_out_figures(model),
        "metrics": shown_metrics(model.metrics),
    }


def held_out_figures(model: DisruptionModel) -> dict[str, Any] | None:
    """``holdout.served`` of ``model``'s metrics, when the run recorded it for the scorer that serves now."""
    served = model.metrics.get("holdout", {}).get("served")
    if not served or model.metrics.get("scorer") != model.scorer:
        return None
    # A run before the late count was recorded left it out: null, not a guess.
    return {"scorer": model.scorer, "lines": served["rows"], "late_lines": served.get("late"),
            **{name: served.get(name) for name in ("roc_auc", "pr_auc", "brier", "ece")}}  # fmt: skip


def shown_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    """The run's metrics, its ``calibration`` figures renamed ``in_sample_fit`` where they were measured on the
    booster's own training rows (no calibration share): a fit, which said nothing of how well it predicts."""
    shown = dict(metrics)
    if "calibration" in shown and shown.get("calibration_rows") == shown.get("training_rows"):
        shown["in_sample_fit"] = shown.pop("calibration")
    return shown
