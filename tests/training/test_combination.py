"""Panel-level choice among a few fixed combination pools, on hand-made backtest windows."""

import numpy as np
import pandas as pd
import pytest

from training.combination import (
    Windows,
    candidate_pools,
    choose_pool,
    combine,
    combine_forecasts,
    inverse_error_share,
    leaning_errors,
    strong_winners,
)

MEMBERS = ("auto_ets", "theta", "ces", "arima")


def windows(n_series: int, errors: dict[str, float], n_windows: int = 3, seed: int = 0) -> Windows:
    """Actuals of 100 and forecasts off by each model's typical error (a random sign per window)."""
    rng = np.random.default_rng(seed)
    rows = n_series * n_windows
    keys = pd.DataFrame({"unique_id": np.repeat([f"s{i}" for i in range(n_series)], n_windows), "cutoff": 0})
    keys["cutoff"] = np.tile(np.arange(n_windows), n_series)
    actual = np.full((rows, 4), 100.0)
    forecasts = {m: actual + e * rng.choice([-1.0, 1.0], size=(rows, 1)) for m, e in errors.items()}
    return Windows(keys, actual, np.ones(rows), forecasts)


def test_the_pools_are_few_and_fixed_median_of_all_first():
    pools = candidate_pools(MEMBERS, extra=("xgboost",))
    assert pools[0] == (MEMBERS, "median")
    # all four and the four leave-one-out subsets by median and mean, the ETS-Theta pair, + xgboost
    assert len(pools) == 12
    assert (("auto_ets", "theta"), "mean") in pools
    assert ((*MEMBERS, "xgboost"), "median") in pools


def test_a_panel_where_one_member_is_far_off_drops_it():
    panel = windows(40, {"auto_ets": 2.0, "theta": 2.0, "ces": 2.0, "arima": 30.0})
    pool, _ = choose_pool(panel, candidate_pools(MEMBERS), min_series=30, min_gain=0.01)
    assert "arima" not in pool


def test_a_small_panel_keeps_the_default_pool_whatever_the_backtest_says():
    panel = windows(10, {"auto_ets": 2.0, "theta": 2.0, "ces": 2.0, "arima": 30.0})
    assert choose_pool(panel, candidate_pools(MEMBERS), min_series=30, min_gain=0.01) == (MEMBERS, "median")


def test_a_series_with_fewer_windows_than_required_stays_in_the_combination():
    panel = windows(1, {"auto_ets": 20.0, "theta": 20.0, "ces": 20.0, "arima": 0.0}, n_windows=2)
    assert strong_winners(panel, MEMBERS, "median", metric="mase", margin=0.2, min_windows=3) == {}
    assert strong_winners(panel, MEMBERS, "median", metric="mase", margin=0.2, min_windows=2) == {"s0": ("arima", 0.0)}


def test_no_model_beats_a_combination_whose_error_is_zero():
    # A constant series, forecast exactly by all: before, 0 <= 0.8 * 0 let every model "beat the median by 20%".
    panel = windows(1, {"auto_ets": 0.0, "theta": 0.0, "ces": 0.0, "arima": 0.0})
    assert strong_winners(panel, MEMBERS, "median", metric="mase", margin=0.2, min_windows=3) == {}


def test_a_pool_gain_of_one_fixes_the_pool_however_far_off_a_member_is():
    # The bench's `--pool-gain 1`: a switch would need a score below zero, so the median of all stays.
    panel = windows(40, {"auto_ets": 2.0, "theta": 2.0, "ces": 2.0, "arima": 30.0})
    assert choose_pool(panel, candidate_pools(MEMBERS), min_series=30, min_gain=1.0) == (MEMBERS, "median")


def test_latest_keeps_each_series_latest_windows_only():
    panel = windows(3, {"auto_ets": 2.0, "theta": 3.0}, n_windows=4)
    latest = panel.latest(2)
    cutoffs = latest.keys.groupby("unique_id")["cutoff"].apply(list).to_dict()
    assert cutoffs == {"s0": [2, 3], "s1": [2, 3], "s2": [2, 3]}
    assert np.array_equal(latest.forecasts["theta"], panel.forecasts["theta"][(panel.keys["cutoff"] >= 2).to_numpy()])


def test_a_leaning_winner_adds_its_share_to_the_weighted_median_of_the_pool():
    forecasts = pd.DataFrame(
        {"unique_id": "s", "ds": 1, "model": ["a", "b", "c", "w"], "yhat": [10.0, 20.0, 60.0, 40.0], "q0.9": 1.0}
    )
    weights = pd.DataFrame(
        {
            "unique_id": "s",
            "model": ["a", "b", "c", "w"],
            "weight": [0.25 / 3] * 3 + [0.75],
            "rule": ["median"] * 3 + ["mean"],
        }
    )
    combined = combine_forecasts(forecasts, weights, [0.9])
    assert combined["yhat"].tolist() == [0.25 * 20.0 + 0.75 * 40.0]


def test_leaning_errors_score_the_blend_of_winner_and_combination():
    ws = windows(1, {"auto_ets": 10.0, "theta": 10.0, "ces": 10.0}, n_windows=2)
    exact = Windows(ws.keys, ws.actual, ws.scale, {**ws.forecasts, "arima": ws.actual.copy()})
    pooled = combine([exact.forecasts[m] for m in ("auto_ets", "theta", "ces")], "median")
    errors = leaning_errors(exact, pooled, {"s0": ("arima", 0.5)}, "mase")
    assert errors == {"s0": 5.0}


def test_a_strong_winner_takes_a_share_inverse_to_its_squared_backtest_error():
    assert inverse_error_share(winner_error=0.5, pooled_error=1.5) == pytest.approx(0.9)
    assert inverse_error_share(winner_error=0.8, pooled_error=1.0) == pytest.approx(1.0 / 1.64)
