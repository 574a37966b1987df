"""The nightly batch job's defaults (its command line, ``chainsight forecast-batch`` and ``run_batch``), without
Ray."""

from __future__ import annotations

import asyncio
import inspect
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from typer.testing import CliRunner

import deployments.cli as cli_module
from common.config import get_settings
from deployments.cli import app as cli
from reports.forecast import INTERVAL_QUANTILES
from training import batch_forecast

ENTRIES = ["job", "cli", "run_batch"]


def test_the_batch_stores_every_level_the_forecast_report_asks_for_by_default(monkeypatch):
    # Before, it stored 10/50/90% only: the report's 2.5/97.5% made every stored forecast stale to it, so the PDF
    # refitted each series while /ai/forecast/demand served the stored champion.
    asked = {}
    monkeypatch.setattr(batch_forecast, "run_with_ray", lambda **kwargs: asked.update(kwargs) or [])
    batch_forecast.main([])
    run_batch_default = inspect.signature(batch_forecast.run_batch).parameters["quantiles"].default
    assert {0.025, 0.975} <= set(INTERVAL_QUANTILES)
    assert set(asked["quantiles"]) >= set(INTERVAL_QUANTILES) and set(run_batch_default) >= set(INTERVAL_QUANTILES)


@pytest.fixture
async def tenant_id(make_tenant) -> UUID:
    return (await make_tenant()).id


@pytest.fixture
def forecast_horizons(monkeypatch, database_url):
    """The horizon each tenant is forecast over, the batch run on the test database without Ray."""
    horizons: list[int] = []

    async def forecast_tenant(pool, tenant_id, *, horizon, **options):
        horizons.append(horizon)
        return batch_forecast.TenantSummary(str(tenant_id))

    def run_without_ray(url=None, metrics_linger_s=0.0, **options):
        return asyncio.run(batch_forecast.run_batch(url or database_url, **options))

    monkeypatch.setattr(batch_forecast, "forecast_tenant", forecast_tenant)
    monkeypatch.setattr(batch_forecast, "run_with_ray", run_without_ray)
    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield horizons
    get_settings.cache_clear()


def run_batch_from(entry: str, database_url: str, tenant_id: UUID, freq: str, horizon: int | None = None) -> None:
    """The batch for one tenant started from ``entry``: the Ray job's command line, ``chainsight`` or run_batch."""
    options = ["--freq", freq, "--tenant", str(tenant_id), *(["--horizon", str(horizon)] if horizon else [])]
    if entry == "job":
        batch_forecast.main(options)
    elif entry == "cli":
        result = CliRunner().invoke(cli, ["forecast-batch", *options])
        assert result.exit_code == 0, result.output
    else:
        given = {"horizon": horizon} if horizon else {}
        asyncio.run(batch_forecast.run_batch(database_url, freq=freq, tenant_ids=[tenant_id], **given))


@pytest.mark.parametrize("entry", ENTRIES)
@pytest.mark.parametrize(("freq", "steps"), [("D", 28), ("W", 13)])
def test_a_batch_without_a_horizon_forecasts_28_days_or_13_weeks(
    forecast_horizons, database_url, tenant_id, entry, freq, steps
):
    # Before, 28 steps for W too: a weekly batch without --horizon forecast 28 weeks, a run keyed apart from the
    # documented `--freq W --horizon 13` one (and the train job's 13-week default).
    run_batch_from(entry, database_url, tenant_id, freq)
    assert forecast_horizons == [steps]


@pytest.mark.parametrize("entry", ENTRIES)
def test_a_batch_given_a_horizon_forecasts_that_many_steps(forecast_horizons, database_url, tenant_id, entry):
    run_batch_from(entry, database_url, tenant_id, "W", horizon=7)
    assert forecast_horizons == [7]


@pytest.fixture
def no_ray(monkeypatch):
    def started(**options):
        raise AssertionError("the batch started Ray with bad arguments")

    monkeypatch.setattr(batch_forecast, "run_with_ray", started)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--quantiles", "abc"], "argument --quantiles: must be comma-separated numbers between 0 and 1, got 'abc'"),
        (["--quantiles", "0.1,"], "argument --quantiles: must be comma-separated numbers between 0 and 1, got '0.1,'"),
        (["--quantiles", "0.1,1.5"], "argument --quantiles: quantiles must lie strictly between 0 and 1, got [1.5]"),
        (["--quantiles", "nan"], "argument --quantiles: quantiles must lie strictly between 0 and 1, got [nan]"),
        (["--horizon", "0"], "argument --horizon: must be between 1 and 366 for --freq D, got 0"),
        (["--freq", "W", "--horizon", "105"], "argument --horizon: must be between 1 and 104 for --freq W, got 105"),
        (["--metrics-linger-s", "-5"], "argument --metrics-linger-s: must be a number of at least 0, got '-5'"),
    ],
)
def test_a_bad_argument_is_refused_in_one_line_before_ray_starts(no_ray, capsys, options, message):
    # Before, --quantiles abc ended in a ValueError traceback, and 0.1,1.5 started Ray and registered a failed run for
    # every tenant, a Ray traceback in its metrics.error; a bad --horizon was refused only once Ray had started.
    with pytest.raises(SystemExit) as exit_:
        batch_forecast.main(options)
    assert exit_.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == f"python -m deployments.jobs batch-forecast: error: {message}"


def test_the_quantiles_given_are_forecast_in_order_once_each(monkeypatch):
    asked = {}
    monkeypatch.setattr(batch_forecast, "run_with_ray", lambda **kwargs: asked.update(kwargs) or [])
    batch_forecast.main(["--quantiles", "0.9, 0.1,0.5,0.1"])
    assert asked["quantiles"] == [0.1, 0.5, 0.9]


@pytest.mark.parametrize("as_of", ["2999-01-01", f"{datetime.now(UTC) + timedelta(days=3):%Y-%m-%dT%H:%M}"])
def test_an_as_of_in_the_future_is_refused_in_one_line_before_ray_starts(no_ray, capsys, as_of):
    # Before, run_batch refused it only once Ray had started (a SystemExit from inside the Ray session).
    with pytest.raises(SystemExit) as exit_:
        batch_forecast.main(["--as-of", as_of])
    assert exit_.value.code == 2
    message = capsys.readouterr().err.splitlines()[-1]
    assert message == (
        f"python -m deployments.jobs batch-forecast: error: argument --as-of: {as_of[:10]} is in the future: "
        "a batch forecasts from data that exists"
    )


def test_an_as_of_within_a_day_of_now_is_forecast(monkeypatch):
    # A zone ahead of UTC is already tomorrow: run_batch allows a day's lead, so main does too.
    asked = {}
    monkeypatch.setattr(batch_forecast, "run_with_ray", lambda **kwargs: asked.update(kwargs) or [])
    tomorrow = datetime.now(UTC) + timedelta(hours=12)
    batch_forecast.main(["--as-of", tomorrow.isoformat()])
    assert asked["as_of"] == tomorrow


@pytest.fixture
def no_database(monkeypatch):
    def started():
        raise AssertionError("the command found (or started) its database with bad arguments")

    monkeypatch.setattr(cli_module, "ensure_database_url", started)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--freq", "W", "--horizon", "200"], "--horizon: must be between 1 and 104 for --freq W, got 200"),
        (["--horizon", "367"], "--horizon: must be between 1 and 366 for --freq D, got 367"),
        (["--horizon", "0"], "--horizon: must be between 1 and 366 for --freq D, got 0"),
        (["--freq", "M"], "--freq: must be D or W, got 'M'"),
    ],
)
def test_the_cli_refuses_a_bad_horizon_in_one_line_before_the_database_or_ray(no_ray, no_database, options, message):
    # Before, `chainsight forecast-batch --freq W --horizon 200` passed typer's 1..366, found the database and was
    # refused by run_batch inside the Ray session.
    result = CliRunner().invoke(cli, ["forecast-batch", *options], env={"COLUMNS": "400"})
    assert result.exit_code == 2, result.output
    assert result.output == f"error: {message}\n"
