"""The ``chainsight forecast`` command: a planner's own file forecast on Ray (``training.file_forecast``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def forecast(
    input_path: Annotated[Path, typer.Option("--input", help="CSV or Parquet, long format: unique_id, ds, y")],
    horizon: Annotated[int, typer.Option(min=1, max=100_000, help="steps ahead")],
    output: Annotated[Path, typer.Option(help="forecasts.csv or .parquet: unique_id, ds, yhat, q<level>..., model")],
    freq: Annotated[str, typer.Option(help="pandas frequency of the file: h, D, W, MS, QS, YS ...")] = "D",
    quantiles: Annotated[str, typer.Option(help="comma-separated levels; empty for points only")] = "0.1,0.5,0.9",
    fill: Annotated[str, typer.Option(help="missing timestamps: zero (no demand), ffill, or none (refuse)")] = "zero",
    profile: Annotated[str, typer.Option(help="candidates: full (adds the global xgboost) or fast")] = "full",
    covariates: Annotated[
        str, typer.Option(help="comma-separated columns of --input known in advance (price, promo ...)")
    ] = "",
    future: Annotated[
        Path | None, typer.Option(help="CSV or Parquet: unique_id, ds and the --covariates over the horizon")
    ] = None,
    date_format: Annotated[
        str | None,
        typer.Option(help="strptime format of ds, e.g. %d/%m/%Y (default: ISO, or day/month order told by the file)"),
    ] = None,
) -> None:
    """Forecast your own file on Ray with the service's model selection, without loading it into the database."""
    from common.ray_connection import ray_session
    from training.errors import ForecastInputError
    from training.file_forecast import Fill, check_output, forecast_file, prepare_file, read_history, write_output

    if fill not in ("zero", "ffill", "none") or profile not in ("fast", "full"):
        raise typer.BadParameter("--fill is zero, ffill or none; --profile is fast or full")
    levels = _levels(quantiles)
    try:
        check_output(output)
        names = [c.strip() for c in covariates.split(",") if c.strip()]
        if names and future is None:
            raise ForecastInputError(f"--covariates {','.join(names)} need --future with their values")
        history = read_history(input_path, names)
        known = read_history(future, names, target=False) if future is not None else None
        fills: Fill = fill  # type: ignore[assignment]  # checked above
        prepared = prepare_file(history, freq, horizon, levels, fill=fills, future=known, date_format=date_format)
    except (ValueError, ForecastInputError) as exc:
        raise typer.BadParameter(str(exc)) from exc
    try:
        with ray_session(log_to_driver=False):
            result = forecast_file(
                prepared, profile=profile,  # type: ignore[arg-type]
                on_progress=lambda done, total, s, n: typer.echo(f"  {done}/{total} tasks, {s}/{n} series", err=True),
            )  # fmt: skip
    except ForecastInputError as exc:
        raise typer.BadParameter(str(exc)) from exc
    write_output(result.forecast, output)
    mix = ", ".join(f"{m} {n}" for m, n in result.selection["model"].value_counts().items())
    typer.echo(f"{len(result.selection)} series, {len(result.forecast)} rows -> {output} (models: {mix})")
    if result.filled_gaps:
        typer.echo(f"{result.filled_gaps} missing timestamp(s) filled with --fill {fill}", err=True)


def _levels(text: str) -> list[float]:
    """``--quantiles`` read as the batch job reads its own (``training.job_args.quantile_levels``: each strictly
    between 0 and 1, sorted, distinct); empty or blank for points only."""
    import argparse

    from training.job_args import quantile_levels

    if not text.strip():
        return []
    try:
        return quantile_levels(text)
    except argparse.ArgumentTypeError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--quantiles'") from exc
