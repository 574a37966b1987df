"""What the API says about the scorer that serves: its own held-out figures, never the unused booster's fit on
its training rows, and no calibration where none is applied (in process, no Ray, no database)."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi import FastAPI

from deployments.api.routes import risk as risk_routes
from risk.model import BASELINE_SCORER, MODEL_SCORER, RATE_SCORER
from risk.model_info import served_model_info
from risk.pipeline import train_disruption_model
from risk.synthetic import generate_history
from tests.support.deliveries import road_history


@pytest.fixture(scope="module")
def baseline_served():
    # The audit's case: lateness only in the oldest half, so the validation windows hold none and the baseline
    # serves, while the booster fits its own training rows well (ROC AUC 0.90 there).
    history = road_history(
        seed=1, lines=2000, suppliers=10, late=lambda draw, _: (draw < 0.2) & (np.arange(len(draw)) < len(draw) // 2)
    )
    return train_disruption_model(history)


def test_the_baseline_serving_shows_its_own_held_out_figures_and_no_calibration(baseline_served):
    info = served_model_info((1, baseline_served))
    served = baseline_served.metrics["holdout"]["served"]
    assert info["scorer"] == BASELINE_SCORER
    # No calibrator touches the baseline's raw late rates.
    assert info["calibration"] is None
    assert info["held_out"] == {
        "scorer": BASELINE_SCORER,
        "lines": 600,
        "late_lines": 0,
        "roc_auc": None,
        "pr_auc": None,
        "brier": served["brier"],
        "ece": served["ece"],
    }
    # The booster's figures on the rows it was fitted on are labelled as such, never as its calibration's accuracy.
    metrics = info["metrics"]
    assert "calibration" not in metrics
    assert metrics["in_sample_fit"]["rows"] == metrics["training_rows"] == 2000


def test_a_rate_scorer_has_no_calibration_and_figures_of_another_scorer_are_not_shown_as_its_own(baseline_served):
    baseline_served.scorer = RATE_SCORER  # as if it served the starting rate: the holdout recorded the baseline's
    try:
        info = served_model_info((1, baseline_served))
    finally:
        baseline_served.scorer = BASELINE_SCORER
    assert info["calibration"] is None and info["held_out"] is None


def test_the_booster_serving_shows_its_calibration_and_held_out_figures():
    model = train_disruption_model(generate_history(lines=6000, suppliers=40, days=900, seed=2))
    assert model.scorer == MODEL_SCORER, model.reason
    info = served_model_info((3, model))
    candidate = model.metrics["holdout"]["candidate"]
    assert info["calibration"] == model.calibrator.method
    assert info["held_out"]["scorer"] == MODEL_SCORER
    assert (info["held_out"]["lines"], info["held_out"]["late_lines"]) == (candidate["rows"], candidate["late"])
    assert info["held_out"]["roc_auc"] == candidate["roc_auc"] and info["held_out"]["brier"] == candidate["brier"]


def test_without_a_trained_model_nothing_is_claimed():
    info = served_model_info(None)
    assert (info["scorer"], info["calibration"], info["held_out"], info["metrics"]) == (
        BASELINE_SCORER,
        None,
        None,
        None,
    )


def test_the_model_endpoint_documents_the_served_figures(baseline_served):
    app = FastAPI()
    app.include_router(risk_routes.router)
    spec = app.openapi()
    schema = spec["paths"]["/ai/risk/model"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    properties = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]["properties"]
    assert {"scorer", "reason", "calibration", "held_out", "metrics", "trained_at"} <= set(properties)
    held_out = spec["components"]["schemas"]["HeldOutFigures"]["properties"]
    assert {"lines", "late_lines", "roc_auc", "pr_auc", "brier", "ece"} <= set(held_out)
    # What the service answers passes the response model whole: nothing it says is dropped on the way out.
    answer = {**served_model_info((1, baseline_served)), "trained_at": None}
    shown = risk_routes.ModelInfoOut.model_validate(answer).model_dump()
    assert shown["held_out"] == answer["held_out"] and shown["metrics"] == answer["metrics"]
