"""Charts render to PNG without pyplot, so no global matplotlib state is touched."""

from __future__ import annotations

import subprocess
import sys
import warnings
from datetime import datetime, timedelta

from inventory.exports.pdf_tables import format_number
from reports.charts import ScoreBar, forecast_chart, late_trend_chart, stacked_scores_chart, stacked_scores_figure

PNG = b"\x89PNG\r\n\x1a\n"


def test_each_chart_is_a_png():
    start = datetime(2026, 1, 1)
    history = [(start + timedelta(days=i), float(i % 7)) for i in range(30)]
    band = [
        {"ds": start + timedelta(days=30 + i), "yhat": 3.0, "lo80": 2.0, "hi80": 4.0, "lo95": 1.0, "hi95": 5.0}
        for i in range(7)
    ]
    months = [datetime(2026, m, 1) for m in range(1, 7)]
    charts = [
        forecast_chart(history, band, "kg"),
        stacked_scores_chart([ScoreBar("SUP-Ł", "Zakład Łódź", {"financial": 10.0, "operational": 20.0}, 30.0)]),
        late_trend_chart(months, {"All suppliers": [0.1, None, 0.2, 0.3, 0.1, 0.0]}),
    ]
    assert all(chart.startswith(PNG) and len(chart) > 5_000 for chart in charts)


def test_importing_and_drawing_charts_leaves_pyplot_unloaded():
    code = (
        "import sys; from reports.charts import ScoreBar, stacked_scores_chart;"
        "stacked_scores_chart([ScoreBar('a', 'b', {'financial': 1}, 1)]);"
        "print('matplotlib.pyplot' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_200_character_supplier_name_is_cut_in_its_bar_label_and_the_code_kept_whole():
    name = ("Norsk Industri " * 14)[:200]
    bars = [ScoreBar("SUP-NORSK-0042", name, {"financial": 10.0, "operational": 3.75}, 13.75)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        stacked_scores_chart(bars, width_in=10.0, height_in=1.6)
    [label] = [t.get_text() for t in stacked_scores_figure(bars).axes[0].get_yticklabels()]
    assert [str(w.message) for w in caught] == []
    assert label.startswith("SUP-NORSK-0042  Norsk Industri") and label.endswith("…") and len(label) <= 64


def test_each_bar_is_labelled_with_the_overall_score_as_the_ranking_table_prints_it():
    weights = {"financial": 0.25, "operational": 0.35, "geographical": 0.2, "compliance": 0.2}
    components = {"financial": 58.73, "operational": 27.63, "geographical": 7.09, "compliance": 4.89}
    weighted = {c: components[c] * weights[c] for c in weights}  # 26.749: the API's overall is 26.75
    bars = [ScoreBar("SUP-NORSK", "Norsk AS", weighted, 26.75), ScoreBar("SUP-B", "B", {"financial": 9.2}, 9.2)]
    labels = [t.get_text() for t in stacked_scores_figure(bars).axes[0].texts]
    assert labels == [format_number(9.2, 2), format_number(26.75, 2)] == ["9.20", "26.75"]  # drawn bottom up
