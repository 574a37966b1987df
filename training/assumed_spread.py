"""The interval of a demand series whose short history shows no spread, assumed rather than read off the fit."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from scipy.stats import poisson

from training.models.base import POINT_COLUMN
from training.validation import quantile_column


def assume_spread_of_constant_short_histories(
    predicted: pd.DataFrame,
    selection: pd.DataFrame,
    history: pd.DataFrame,
    levels: Sequence[float],
    short_length: int,
) -> pd.DataFrame:
    """Give a Poisson interval around its forecast to each series of fewer than ``short_length`` observations,
    all the same and positive, and return ``selection`` with their notes saying so (``predicted`` is changed).

    Such a history shows no spread, and the short-series fallbacks (naive, dynamic Theta) collapse their interval
    onto it: a certain 40 for a product stocked two days ago that sold 40 on each, and a safety stock of 0 the
    simulation "confirmed". From ``short_length`` observations on (the combination's minimum), its interval stands.
    """
    shape = history.groupby("unique_id")["y"].agg(["size", "nunique", "min"])
    constant = shape[(shape["size"] < short_length) & (shape["nunique"] == 1) & (shape["min"] > 0)]
    rows = predicted["unique_id"].isin(constant.index).to_numpy()
    if rows.any():
        mean = predicted.loc[rows, POINT_COLUMN].to_numpy(dtype=float)
        for q in levels:
            predicted.loc[rows, quantile_column(q)] = poisson.ppf(q, mean)
    assumed = {
        uid: " (its interval assumed Poisson: the history shows no spread, "
        + ("one observation)" if n == 1 else f"{n} identical observations)")
        for uid, n in constant["size"].items()
    }
    return selection.assign(note=selection["note"] + selection["unique_id"].map(assumed).fillna(""))
