"""How the supplier_risk tool words an assessment (``copilot.tools_risk``)."""

from __future__ import annotations

from copilot.tools_risk import _risk_line

ASSESSMENT = {
    "supplier": {"code": "SUP-LATE", "name": "Late Ltd"},
    "overall": 46.78,
    "band": "medium",
    "confidence": "low",
    "components": {"operational": 40.96},
    "top_factors": [
        {
            "component": "operational",
            "factor": "on_time_rate",
            "value": 0.6071,
            "contribution": 15.7,
            "observed": {"deliveries": 2, "on_time": 0, "overdue": 0},
        },
        {
            "component": "operational",
            "factor": "fill_rate",
            "value": 0.92,
            "contribution": 3.2,
            "observed": {"deliveries": 2, "rate": None},
        },
    ],
}


def test_a_shrunk_rate_is_said_to_be_an_estimate_beside_what_was_observed():
    # Before, "operational on_time_rate 0.6071": an estimate pulled towards the prior read as the observed rate
    # of a supplier whose two deliveries were both late.
    line = _risk_line(ASSESSMENT, None)
    assert "on_time_rate 0.6071 (estimate; observed: deliveries 2, on_time 0, overdue 0) (+15.7)" in line
    assert "fill_rate 0.92 (estimate; observed: deliveries 2, rate none) (+3.2)" in line
