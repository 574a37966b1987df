"""Small seeded synthetic panels in the ``unique_id, ds, y`` convention (Ray: the session's ``ray_cluster``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def seasonal_panel(n_series: int = 3, length: int = 72, freq: str = "MS", season: int = 12, seed: int = 0):
    """Trending series with a strong seasonal cycle and a little noise, each at its own scale."""
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    frames = [
        pd.DataFrame(
            {
                "unique_id": f"seasonal{i}",
                "ds": pd.date_range("2018-01-01", periods=length, freq=freq),
                "y": (i + 1) * (100 + 20 * np.sin(2 * np.pi * t / season) + 0.8 * t + rng.normal(0, 2, length)),
            }
        )
        for i in range(n_series)
    ]
    return pd.concat(frames, ignore_index=True)


def intermittent_panel(n_series: int = 2, length: int = 72, freq: str = "MS", seed: int = 1):
    """Spare-parts demand: mostly zero, occasional Poisson-sized orders."""
    rng = np.random.default_rng(seed)
    frames = [
        pd.DataFrame(
            {
                "unique_id": f"sparse{i}",
                "ds": pd.date_range("2018-01-01", periods=length, freq=freq),
                "y": rng.binomial(1, 0.25, length) * rng.poisson(6, length),
            }
        )
        for i in range(n_series)
    ]
    return pd.concat(frames, ignore_index=True)


def split_last(df: pd.DataFrame, horizon: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Training part and the last ``horizon`` observations of each series."""
    from_end = df.groupby("unique_id").cumcount(ascending=False)
    return df[from_end >= horizon], df[from_end < horizon]


@pytest.fixture
def seasonal() -> pd.DataFrame:
    return seasonal_panel()


@pytest.fixture
def sparse() -> pd.DataFrame:
    return intermittent_panel()


@pytest.fixture(scope="session")
def make_seasonal():
    return seasonal_panel


@pytest.fixture(scope="session")
def make_sparse():
    return intermittent_panel


@pytest.fixture(scope="session")
def split():
    return split_last
