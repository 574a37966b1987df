"""Forecast a panel on Ray: series partitioned over tasks, results streamed back as they finish.

Shared by the nightly batch job (``training.batch_forecast``) and ``chainsight forecast``; each task
runs ``training.planning.forecast_panel`` (the service's selection) on its share of the series.
Series are assigned to chunks by a stable hash of their id, so a rerun partitions them the same way.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import pandas as pd
import ray

from training.planning import Profile, forecast_panel

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChunkResult:
    index: int
    forecast: pd.DataFrame
    selection: pd.DataFrame
    series: int


def partition(history: pd.DataFrame, chunks: int) -> list[pd.DataFrame]:
    """Split a long frame into at most ``chunks`` frames, whole series each, by a stable hash of the id."""
    ids = history["unique_id"].astype(str).unique()
    count = max(1, min(chunks, len(ids)))
    bucket = {uid: zlib.crc32(uid.encode()) % count for uid in ids}
    keys = history["unique_id"].astype(str).map(bucket)
    return [part for _, part in history.groupby(keys, sort=True)]


def _share(future: pd.DataFrame | None, part: pd.DataFrame) -> pd.DataFrame | None:
    """The rows of ``future`` that belong to the series of ``part``."""
    if future is None:
        return None
    return future[future["unique_id"].astype(str).isin(part["unique_id"].astype(str).unique())]


def _forecast_chunk(
    index: int,
    chunk: pd.DataFrame,
    freq: str,
    horizon: int,
    quantiles: Sequence[float],
    profile: Profile,
    future: pd.DataFrame | None = None,
) -> ChunkResult:
    outcome = forecast_panel(chunk, freq, horizon, quantiles, profile, future=future)
    return ChunkResult(index, outcome.forecast, outcome.selection, int(chunk["unique_id"].nunique()))


def forecast_on_ray(
    history: pd.DataFrame,
    freq: str,
    horizon: int,
    quantiles: Sequence[float],
    *,
    profile: Profile = "full",
    chunks: int | None = None,
    on_progress: Callable[[int, int, int, int], None] | None = None,
    future: pd.DataFrame | None = None,
) -> Iterator[ChunkResult]:
    """Yield each chunk's forecasts as soon as its task finishes (Ray must be initialised).

    Covariate columns of ``history`` travel with their series; ``future`` (their values over the
    horizon) is split the same way.

    ``chunks`` defaults to twice the cluster's CPUs so that stragglers do not leave CPUs idle.
    ``on_progress(done_chunks, total_chunks, done_series, total_series)`` follows every chunk.
    """
    if chunks is None:
        chunks = max(1, 2 * int(ray.cluster_resources().get("CPU", 1)))
    parts = partition(history, chunks)
    total_series = int(history["unique_id"].nunique())
    task = ray.remote(num_cpus=1, max_retries=2)(_forecast_chunk)
    pending = {
        task.remote(i, part, freq, horizon, list(quantiles), profile, _share(future, part)): i
        for i, part in enumerate(parts)
    }
    done_chunks = done_series = 0
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1)
        for ref in ready:
            pending.pop(ref)
            result: ChunkResult = ray.get(ref)
            done_chunks += 1
            done_series += result.series
            if on_progress is not None:
                on_progress(done_chunks, len(parts), done_series, total_series)
            yield result
