"""Charts for the PDF reports, drawn with matplotlib and returned as PNG bytes.

Figures are built with ``matplotlib.figure.Figure`` and the Agg canvas directly: no pyplot, so no global
backend or figure registry is touched and nothing needs closing; each call is independent (safe in a thread).
The default font, DejaVu Sans, covers the non-Latin-1 names the PDF text shows too.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from inventory.exports.pdf_tables import format_number

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DPI = 160
HISTORY = "#3b4a5a"
FORECAST = "#1f4e79"
BAND_80 = "#8fb3d9"
BAND_95 = "#d3e2f1"
# One colour per risk component, the same in every chart and table legend.
COMPONENT_COLOURS = {
    "financial": "#1f4e79",
    "operational": "#d0843b",
    "geographical": "#5b9a68",
    "compliance": "#9a5b8f",
}
LINE_COLOURS = ("#1f4e79", "#d0843b", "#5b9a68", "#9a5b8f", "#b5463c", "#6c757d")
# A bar's label is its supplier's code, whole, and the name cut with "…" (the table beside gives it whole): a
# 200-character name would leave the bars no width (matplotlib's constrained layout gives up) and cut the code.
BAR_NAME_CHARS = 40
BAR_LABEL_CHARS = 64  # the code (up to 64 characters) and the name together, so even the widest fits 10 inches
# An overall risk score is printed with the API's 2 decimals: at 1, 59.98 (medium; high is 60 or more) read 60.0.
OVERALL_DECIMALS = 2


@dataclass(frozen=True)
class ScoreBar:
    code: str
    name: str
    components: Mapping[str, float]  # each component's weighted share of the overall score
    # The score as ranked (rounded to 2 decimals), labelled as the table prints it: the parts' float sum can
    # round the other way (13.744999 -> 13.74 beside the table's 13.75).
    overall: float


def bar_label(code: str, name: str) -> str:
    """``code  name`` with the name cut to fit the label; the code alone when no room is left for a name."""
    room = min(BAR_NAME_CHARS, BAR_LABEL_CHARS - len(code) - 2)
    if len(name) > room:
        name = name[: room - 1].rstrip() + "…" if room > 1 else ""
    return f"{code}  {name}" if name else code


def _figure(width_in: float, height_in: float) -> Figure:
    # matplotlib loads with the first chart, not when the API imports the report routes (~2.5 s of CPU per replica).
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width_in, height_in), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _date_axis(axes: Any) -> None:
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    locator = AutoDateLocator()
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))


def _tidy(axes: object) -> None:
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)  # type: ignore[attr-defined]
    axes.grid(axis="y", color="#e3e7ec", linewidth=0.6)  # type: ignore[attr-defined]
    axes.set_axisbelow(True)  # type: ignore[attr-defined]


def forecast_chart(
    history: Sequence[tuple[datetime, float]],
    forecast: Sequence[Mapping[str, Any]],
    unit: str,
    width_in: float = 9.0,
    height_in: float = 3.0,
) -> bytes:
    """Recent demand, the forecast, and its 80% and 95% intervals (``ds, yhat, lo80, hi80, lo95, hi95``)."""
    figure = _figure(width_in, height_in)
    axes = figure.add_subplot()
    if history:
        axes.plot(
            list[Any](d for d, _ in history), [y for _, y in history], color=HISTORY, linewidth=1.1, label="Demand"
        )
    if forecast:
        days: list[Any] = [p["ds"] for p in forecast]
        if "lo95" in forecast[0]:
            axes.fill_between(days, [p["lo95"] for p in forecast], [p["hi95"] for p in forecast],
                              color=BAND_95, linewidth=0, label="95% interval")  # fmt: skip
        if "lo80" in forecast[0]:
            axes.fill_between(days, [p["lo80"] for p in forecast], [p["hi80"] for p in forecast],
                              color=BAND_80, linewidth=0, label="80% interval")  # fmt: skip
        axes.plot(days, [p["yhat"] for p in forecast], color=FORECAST, linewidth=1.6, label="Forecast")
        if history:
            axes.axvline(days[0], color="#adb5bd", linewidth=0.8, linestyle="--")
    _date_axis(axes)
    axes.set_ylabel(f"Demand ({unit})" if unit else "Demand", fontsize=9)
    axes.set_ylim(bottom=0)
    axes.tick_params(labelsize=8)
    axes.legend(loc="upper left", fontsize=7.5, ncols=4, frameon=False)
    _tidy(axes)
    return _png(figure)


def stacked_scores_chart(bars: Sequence[ScoreBar], width_in: float = 9.0, height_in: float | None = None) -> bytes:
    """The PNG of ``stacked_scores_figure``."""
    return _png(stacked_scores_figure(bars, width_in, height_in))


def stacked_scores_figure(bars: Sequence[ScoreBar], width_in: float = 9.0, height_in: float | None = None) -> Figure:
    """One horizontal bar per supplier (highest risk on top): its overall score split into each component's
    weighted share, so the bar's length is the overall score (0-100)."""
    height = height_in or max(1.6, 0.32 * len(bars) + 0.9)
    figure = _figure(width_in, height)
    axes = figure.add_subplot()
    labels = [bar_label(bar.code, bar.name) for bar in bars][::-1]
    left = [0.0] * len(labels)
    for component, colour in COMPONENT_COLOURS.items():
        widths = [float(bar.components.get(component, 0.0)) for bar in bars][::-1]
        axes.barh(labels, widths, left=left, color=colour, height=0.62, label=component.capitalize())
        left = [a + b for a, b in zip(left, widths, strict=True)]
    for y, (total, bar) in enumerate(zip(left, bars[::-1], strict=True)):
        axes.text(total + 0.8, y, format_number(bar.overall, OVERALL_DECIMALS), va="center", fontsize=7.5)
    axes.set_xlim(0, max([100.0, *(v + 8 for v in left)]))
    axes.set_xlabel("Overall risk score (0 = none, 100 = highest), split by weighted component", fontsize=8.5)
    axes.tick_params(labelsize=8)
    # Above the bars, so that no bar (up to 100) ever runs under it.
    axes.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), fontsize=7.5, ncols=4, frameon=False)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.grid(axis="x", color="#e3e7ec", linewidth=0.6)
    axes.set_axisbelow(True)
    return figure


def late_trend_chart(
    months: Sequence[datetime],
    lines: Mapping[str, Sequence[float | None]],
    width_in: float = 9.0,
    height_in: float = 3.0,
    emphasised: str | None = None,
) -> bytes:
    """Share of deliveries that arrived after their promised date, per month (one line per series; the
    ``emphasised`` one, the whole group, drawn bold)."""
    figure = _figure(width_in, height_in)
    axes = figure.add_subplot()
    for (name, rates), colour in zip(lines.items(), LINE_COLOURS * 3, strict=False):
        values = [None if r is None else r * 100 for r in rates]
        style = {"linewidth": 2.2, "color": "#212529"} if name == emphasised else {"linewidth": 1.2}
        axes.plot(list[Any](months), [float("nan") if v is None else v for v in values], marker="o", markersize=2.5,
                  label=name, **({"color": colour} | style))  # fmt: skip
    _date_axis(axes)
    axes.set_ylabel("Late deliveries (%)", fontsize=9)
    axes.set_ylim(0, 100)
    axes.tick_params(labelsize=8)
    axes.legend(loc="upper left", fontsize=7.5, ncols=3, frameon=False)
    _tidy(axes)
    return _png(figure)
